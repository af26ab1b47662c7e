"""Rasa behind NLU_TOKEN: `nlu.runtime serve` passes --auth-token, the client sends ?token=."""
from __future__ import annotations

import pytest

import nlu.runtime as runtime
from bot.services import services
from nlu.client import NLUUnavailable, RasaClient
from tests.conftest import SUITE_NLU_TOKEN, closed_port_url, make_app


def test_serve_command_adds_the_token_only_when_set(tmp_path):
    with_token = runtime.serve_command(tmp_path / "m.tar.gz", auth_token="t0k")
    assert with_token[-2:] == ["--auth-token", "t0k"]
    assert "--auth-token" not in runtime.serve_command(tmp_path / "m.tar.gz")


@pytest.mark.parametrize("token", ["t0k-from-env", ""])
def test_runtime_serve_reads_nlu_token(monkeypatch, tmp_path, token):
    execs = []

    class Exec(Exception):
        pass

    def fake_exec(path, argv, env):
        execs.append(argv)
        raise Exec

    monkeypatch.setenv("NLU_TOKEN", token)
    monkeypatch.setattr(runtime, "train", lambda force=False: tmp_path / "nlu-x.tar.gz")
    monkeypatch.setattr(runtime.os, "chdir", lambda _p: None)
    monkeypatch.setattr(runtime.os, "execve", fake_exec)
    with pytest.raises(Exec):
        runtime.main(["serve", "--port", "5999"])
    assert ("--auth-token" in execs[0]) == bool(token)
    if token:
        assert execs[0][execs[0].index("--auth-token") + 1] == token


def test_the_app_passes_nlu_token_to_its_client(database_url):
    assert services(make_app(database_url, NLU_TOKEN="abc")).nlu.token == "abc"
    assert services(make_app(database_url, NLU_TOKEN=None)).nlu.token is None


def test_the_token_never_appears_in_an_error(monkeypatch):
    client = RasaClient(closed_port_url(), timeout=1.0, token="sekrit-token")
    with pytest.raises(NLUUnavailable) as failed:
        client.parse("hola")
    assert "sekrit-token" not in str(failed.value) and "sekrit-token" not in repr(client)


@pytest.mark.rasa
def test_the_real_server_refuses_a_client_without_the_token(rasa_url):
    with RasaClient(rasa_url, token=None) as anonymous:
        with pytest.raises(NLUUnavailable, match=r"refused the request \(HTTP 401\): NLU_TOKEN not set"):
            anonymous.parse("como preparo biol")
    with RasaClient(rasa_url, token="not-the-token") as wrong:
        with pytest.raises(NLUUnavailable, match="HTTP 401"):
            wrong.parse("como preparo biol")
    with RasaClient(rasa_url, token=SUITE_NLU_TOKEN) as client:
        assert client.parse("como preparo biol")["intent"]["name"] == "ask_agroecology"
        assert client.is_ready() is True


@pytest.mark.rasa
def test_an_app_with_the_token_sees_the_nlu(database_url, rasa_url):
    app = make_app(database_url, NLU_URL=rasa_url)  # NLU_TOKEN from the environment
    assert app.test_client().get("/healthz").get_json()["nlu"] is True


@pytest.mark.rasa
def test_healthz_says_nlu_false_when_the_token_is_wrong(database_url, rasa_url):
    """Rasa answers GET / without a token: /healthz must ask something that needs it."""
    wrong = make_app(database_url, NLU_URL=rasa_url, NLU_TOKEN="not-the-token")
    body = wrong.test_client().get("/healthz")
    assert body.status_code == 200 and body.get_json()["nlu"] is False
    right = make_app(database_url, NLU_URL=rasa_url, NLU_TOKEN=SUITE_NLU_TOKEN)
    assert right.test_client().get("/healthz").get_json()["nlu"] is True

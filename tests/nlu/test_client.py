"""nlu.client.RasaClient against a tiny local HTTP server standing in for Rasa."""
from __future__ import annotations

import json
import socket
import threading
import time

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from nlu.client import NLUUnavailable, RasaClient

PARSE = {
    "text": "cuanto sta la papa en huancayo",
    "intent": {"name": "ask_price", "confidence": 0.98},
    "intent_ranking": [{"name": "ask_price", "confidence": 0.98}],
    "entities": [{"entity": "product", "value": "papa", "start": 14, "end": 18,
                  "extractor": "RegexEntityExtractor"}],
}


class FakeRasa:
    """A WSGI app answering like `rasa run --enable-api`; `mode` changes its behaviour."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.token: str | None = None  # like --auth-token: /status then needs ?token=
        self.requests: list[dict] = []

    def __call__(self, environ, start_response):
        request = Request(environ)
        self.requests.append({
            "method": request.method,
            "path": request.path,
            "body": request.get_data(as_text=True),
            "content_type": request.content_type,
            "args": dict(request.args),
        })
        if self.mode == "slow":
            time.sleep(1.0)
        if self.mode == "error":
            response = Response("boom", status=500)
        elif self.mode == "bad_json":
            response = Response("<html>not json</html>", content_type="text/html")
        elif self.mode == "no_intent":
            response = Response(json.dumps({"hello": "world"}), content_type="application/json")
        elif request.method == "GET" and request.path == "/":
            response = Response("Hello from Rasa: 3.6.21")  # answered without the token
        elif request.method == "GET" and request.path == "/status":
            if self.token and request.args.get("token") != self.token:
                response = Response(json.dumps({"status": "failure", "code": 401}), status=401,
                                    content_type="application/json")
            else:
                response = Response(json.dumps({"model_file": "nlu-abc.tar.gz"}),
                                    content_type="application/json")
        elif request.method == "POST" and request.path == "/model/parse":
            text = json.loads(request.get_data(as_text=True))["text"]
            response = Response(json.dumps({**PARSE, "text": text}), content_type="application/json")
        else:
            response = Response("not found", status=404)
        return response(environ, start_response)


@pytest.fixture
def fake_rasa():
    app = FakeRasa()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    app.url = f"http://127.0.0.1:{server.server_port}"
    try:
        yield app
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_parse_returns_rasa_json(fake_rasa):
    client = RasaClient(fake_rasa.url)
    result = client.parse("cuanto sta la papa en huancayo")
    assert result["intent"]["name"] == "ask_price"
    assert result["entities"][0]["value"] == "papa"
    [req] = fake_rasa.requests
    assert (req["method"], req["path"]) == ("POST", "/model/parse")
    assert req["content_type"] == "application/json"
    assert json.loads(req["body"]) == {"text": "cuanto sta la papa en huancayo"}


def test_parse_keeps_unicode_and_trailing_slash_in_base_url(fake_rasa):
    client = RasaClient(fake_rasa.url + "/")
    assert client.parse("mañana hay helada? allillanchu")["text"] == "mañana hay helada? allillanchu"
    assert fake_rasa.requests[0]["path"] == "/model/parse"


def test_one_session_is_reused(fake_rasa):
    client = RasaClient(fake_rasa.url)
    session = client.session
    client.parse("hola")
    client.parse("chau")
    assert client.session is session
    assert len(fake_rasa.requests) == 2


@pytest.mark.parametrize("mode", ["error", "bad_json", "no_intent"])
def test_unusable_answer_raises_nlu_unavailable(fake_rasa, mode):
    fake_rasa.mode = mode
    with pytest.raises(NLUUnavailable):
        RasaClient(fake_rasa.url).parse("hola")


def test_http_500_message_names_the_status(fake_rasa):
    fake_rasa.mode = "error"
    with pytest.raises(NLUUnavailable, match="500"):
        RasaClient(fake_rasa.url).parse("hola")


def test_timeout_raises_nlu_unavailable_quickly(fake_rasa):
    fake_rasa.mode = "slow"
    client = RasaClient(fake_rasa.url, timeout=0.2)
    with pytest.raises(NLUUnavailable, match="timed out"):  # the slow fake would answer
        client.parse("hola")
    assert len(fake_rasa.requests) == 1  # a timeout is not retried


def test_connection_refused_raises_nlu_unavailable():
    client = RasaClient(closed_port_url(), timeout=1.0)
    with pytest.raises(NLUUnavailable, match="unreachable"):  # refused, not timed out
        client.parse("hola")


def test_is_ready(fake_rasa):
    assert RasaClient(fake_rasa.url, token=None).is_ready() is True
    assert fake_rasa.requests[0]["path"] == "/status"


def test_is_ready_proves_the_token_works(fake_rasa):
    """GET / answers without the token; readiness asks /status, which needs it."""
    fake_rasa.token = "right-token"
    assert RasaClient(fake_rasa.url, token="right-token").is_ready() is True
    assert fake_rasa.requests[-1]["args"] == {"token": "right-token"}
    assert RasaClient(fake_rasa.url, token="wrong-token").is_ready() is False
    assert RasaClient(fake_rasa.url, token=None).is_ready() is False


def test_is_ready_false_when_down_or_failing(fake_rasa):
    assert RasaClient(closed_port_url()).is_ready() is False
    fake_rasa.mode = "error"
    assert RasaClient(fake_rasa.url).is_ready() is False
    fake_rasa.mode = "slow"
    assert RasaClient(fake_rasa.url).is_ready(timeout=0.2) is False


def test_local_server_ignores_proxy_settings(fake_rasa, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", closed_port_url())
    monkeypatch.setenv("http_proxy", closed_port_url())
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert RasaClient(fake_rasa.url).parse("hola")["intent"]["name"] == "ask_price"

"""Which kind each NLU failure counts as (chaski_nlu_errors_total{kind}), against a local
HTTP server standing in for Rasa, and against the real one behind its token."""
from __future__ import annotations

import threading

import pytest
from prometheus_client import REGISTRY
from werkzeug.serving import make_server

from bot.monitoring.nlu import MeasuredRasaClient
from nlu.client import NLUUnavailable
from tests.conftest import SUITE_NLU_TOKEN, closed_port_url
from tests.nlu.test_client import FakeRasa


@pytest.fixture
def fake_rasa():
    app = FakeRasa()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    app.url = f"http://127.0.0.1:{server.server_port}"
    yield app
    server.shutdown()
    server.server_close()
    thread.join(5)


def errors(kind: str) -> float:
    return REGISTRY.get_sample_value("chaski_nlu_errors_total", {"kind": kind}) or 0.0


def parses() -> float:
    return REGISTRY.get_sample_value("chaski_nlu_request_seconds_count") or 0.0


@pytest.mark.parametrize("mode, kind", [("slow", "timeout"), ("error", "bad_answer"),
                                        ("bad_json", "bad_answer"), ("no_intent", "bad_answer")])
def test_each_failure_counts_as_its_kind(fake_rasa, mode, kind):
    fake_rasa.mode = mode
    before, count = errors(kind), parses()
    with pytest.raises(NLUUnavailable):
        # Only the slow fake may time out: on a busy machine 0.2 s is short for the others.
        MeasuredRasaClient(fake_rasa.url, timeout=0.2 if mode == "slow" else 5.0, token=None).parse("hola")
    assert errors(kind) - before == 1 and parses() - count == 1


def test_a_closed_port_is_unreachable_and_a_good_parse_no_error():
    before = errors("unreachable")
    with pytest.raises(NLUUnavailable):
        MeasuredRasaClient(closed_port_url(), timeout=0.5, token=None).parse("hola")
    assert errors("unreachable") - before == 1


def test_a_good_parse_is_timed_without_an_error(fake_rasa):
    before = {k: errors(k) for k in ("timeout", "unreachable", "refused", "bad_answer")}
    count = parses()
    assert MeasuredRasaClient(fake_rasa.url, token=None).parse("hola")["intent"]["name"] == "ask_price"
    assert parses() - count == 1
    assert {k: errors(k) for k in before} == before


@pytest.mark.rasa
def test_the_real_server_refusing_a_wrong_token_counts_as_refused(rasa_url):
    before, ok = errors("refused"), parses()
    with pytest.raises(NLUUnavailable):
        MeasuredRasaClient(rasa_url, token="not-the-token").parse("como preparo biol")
    assert errors("refused") - before == 1
    assert MeasuredRasaClient(rasa_url, token=SUITE_NLU_TOKEN).parse("como preparo biol")
    assert parses() - ok == 2

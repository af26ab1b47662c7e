"""GET /healthz (database, NLU, heartbeats; 503 when the database is down) and GET /livez."""
from datetime import datetime, timezone

from bot.jobs import JOBS
from bot.outbound.sender import Sender
from bot.services import services
from models.heartbeats import SCHEDULER, SENDER, beat, last_seen
from tests.conftest import closed_port_url, make_app

T = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)


def test_healthz_is_200_with_the_nlu_down_and_no_heartbeat_yet(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"db": True, "nlu": False, "sender_seen": None,
                                   "scheduler_seen": None}


def test_healthz_reports_the_heartbeats(client, db):
    with db.session() as s:
        beat(s, SENDER, T)
        beat(s, SCHEDULER, T)
    with db.session() as s:  # a second beat moves the time on; still one row each
        beat(s, SENDER, T.replace(minute=5))
    with db.session() as s:
        assert last_seen(s) == {SENDER: T.replace(minute=5), SCHEDULER: T}
    body = client.get("/healthz").get_json()
    assert body["sender_seen"] == "2026-11-20T12:05:00+00:00"
    assert body["scheduler_seen"] == "2026-11-20T12:00:00+00:00"


def test_healthz_is_503_when_the_database_does_not_answer():
    down = closed_port_url().replace("http://", "postgresql://postgres@") + "/chaski"
    app = make_app(down)
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"db": False, "nlu": False, "sender_seen": None,
                                   "scheduler_seen": None}


def test_livez_touches_nothing(app, monkeypatch):
    svc = services(app)

    def no_io(*_a, **_k):
        raise AssertionError("/livez must not do I/O")

    monkeypatch.setattr(svc.db, "ping", no_io)
    monkeypatch.setattr(svc.db, "session", no_io)
    monkeypatch.setattr(svc.nlu, "is_ready", no_io)
    response = app.test_client().get("/livez")
    assert response.status_code == 200


def test_a_running_sender_beats(app, db):
    sender = Sender(services(app), now=lambda: T, sleep=lambda _s: None)
    rounds = iter([False, False, True])
    sender.run_forever(stop=lambda: next(rounds))
    with db.session() as s:
        assert last_seen(s) == {SENDER: T}


def test_the_scheduler_heartbeat_job(db):
    with db.session() as s:
        assert JOBS["scheduler_heartbeat"](s, T) == {"beat": 1}
    with db.session() as s:
        assert last_seen(s) == {SCHEDULER: T}

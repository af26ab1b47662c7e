"""GET /metrics in one process: who may scrape, and what each instrumented part counts."""
from __future__ import annotations

import os
from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.clock import now as clock_now
from bot.jobs import JOBS, run_job
from bot.monitoring import collectors
from bot.outbound.ratelimit import RateLimiter
from bot.services import services
from models import Contact, OutboxMessage
from models.heartbeats import SENDER, beat
from nlu.client import NLUUnavailable
from tests.conftest import closed_port_url, make_app
from tests.fakes.signing import inbound_form, new_sid, post_signed
from tests.fakes.twilio_api import FAKE_ACCOUNT_SID

TOKEN = "metrics-test-token"


def samples(text: str) -> dict[tuple, float]:
    """Return {(sample name, (label, value)...): value} of a Prometheus text page."""
    found = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            found[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return found


def scrape(client, token: str | None = None) -> dict[tuple, float]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.data
    assert response.content_type.startswith("text/plain; version=")
    return samples(response.get_data(as_text=True))


def value(found: dict, name: str, **labels) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


# ---- who may scrape ----
def test_development_without_a_token_serves_loopback_only(client):
    assert client.get("/metrics").status_code == 200
    far = client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert far.status_code == 404


def test_with_a_token_only_the_right_bearer_gets_in(database_url):
    client = make_app(database_url, METRICS_TOKEN=TOKEN).test_client()
    assert client.get("/metrics").status_code == 401  # not even from loopback
    wrong = client.get("/metrics", headers={"Authorization": "Bearer not-it"})
    assert wrong.status_code == 401 and wrong.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/metrics", headers={"Authorization": TOKEN}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def production_app(**overrides):
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        pytest.skip("TEST_DATABASE_URL is not set: production mode needs PostgreSQL")
    return make_app(url, CHASKI_ENV="production", PUBLIC_URL="https://chaski.example.org",
                    NLU_TOKEN="nlu-test-token", **overrides)


def test_production_without_a_token_serves_nobody(monkeypatch):
    from bot.monitoring import views

    warned = []
    monkeypatch.setattr(views.log, "warning", lambda message, *args: warned.append(message))
    client = production_app().test_client()
    assert any("METRICS_TOKEN is not set" in message for message in warned)
    assert client.get("/metrics").status_code == 404  # from loopback too
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404
    with_token = production_app(METRICS_TOKEN=TOKEN).test_client()
    assert with_token.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


# ---- what is counted ----
def test_a_webhook_is_timed_by_path_and_channel_and_its_reply_counted_by_flow(client):
    before = scrape(client)
    for channel in ("sms", "sms", "whatsapp"):
        assert post_signed(client, "/webhooks/twilio",
                           inbound_form("1", sid=new_sid(), channel=channel)).status_code == 200
    repeat = inbound_form("1", sid=new_sid())
    post_signed(client, "/webhooks/twilio", repeat)
    post_signed(client, "/webhooks/twilio", repeat)  # Twilio's retry: same reply, not counted again
    bad = client.post("/webhooks/twilio", data=inbound_form("1", sid=new_sid()))  # no signature
    assert bad.status_code == 403
    after = scrape(client)

    def grew(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    path = "/webhooks/twilio"
    assert grew("chaski_webhook_request_seconds_count", path=path, channel="sms") == 5
    assert grew("chaski_webhook_request_seconds_count", path=path, channel="whatsapp") == 1
    assert grew("chaski_webhook_responses_total", path=path, status="200") == 5
    assert grew("chaski_webhook_responses_total", path=path, status="403") == 1
    replies = {labels: v - before.get((name, labels), 0) for (name, labels), v in after.items()
               if name == "chaski_replies_total"}
    assert sum(replies.values()) == 4, replies  # 3 + the repeated one once
    assert all(dict(labels)["flow"] != "none" for labels, grown in replies.items() if grown)
    assert not any(name.startswith("chaski_webhook") and dict(labels).get("path") == "/metrics"
                   for name, labels in after)


def test_outbox_and_heartbeat_gauges_come_from_the_database(app, client, db, monkeypatch):
    monkeypatch.setattr(collectors, "FINISHED_COUNT_SECONDS", 0.0)  # no count kept from before
    now = clock_now()
    with db.session() as s:
        contact = Contact(phone="+51900000020", channels=["sms"], language="es", consent_at=now,
                          profile={}, created_at=now)
        s.add(contact)
        s.flush()
        for i, (status, due) in enumerate([("queued", now - timedelta(minutes=7)),
                                           ("queued", now + timedelta(hours=1)),
                                           ("sending", now), ("sent", now), ("failed", now)]):
            s.add(OutboxMessage(key=f"t:{i}", source="test", contact_id=contact.id, channel="sms",
                                body="x", status=status, attempts=0, urgent=False,
                                next_attempt_at=due, created_at=now, updated_at=now))
        beat(s, SENDER, now - timedelta(seconds=30))
    found = scrape(client)
    assert {status: value(found, "chaski_outbox_messages", status=status)
            for status in ("queued", "sending", "sent", "failed", "canceled")} == {
        "queued": 2, "sending": 1, "sent": 1, "failed": 1, "canceled": 0}
    oldest = value(found, "chaski_outbox_oldest_due_age_seconds")
    assert 7 * 60 <= oldest < 7 * 60 + 30  # the row due in an hour is not due yet
    assert 30 <= value(found, "chaski_heartbeat_age_seconds", process="sender") < 60
    assert value(found, "chaski_heartbeat_age_seconds", process="scheduler") == float("inf")
    assert value(found, "chaski_database_up") == 1


def test_a_registered_source_adds_its_gauges_and_a_failing_one_spoils_nothing(client, monkeypatch):
    from prometheus_client.core import GaugeMetricFamily

    def feeds(session, now):
        yield GaugeMetricFamily("chaski_test_feed_ok", "a feed gauge", value=3)

    def broken(session, now):
        session.execute(collectors.text("SELECT * FROM no_such_table"))
        yield from ()

    monkeypatch.setattr(collectors, "SOURCES", dict(collectors.SOURCES))
    collectors.gauge_source(broken)
    collectors.gauge_source(feeds)
    found = scrape(client)
    assert value(found, "chaski_test_feed_ok") == 3
    assert ("chaski_outbox_messages", (("status", "queued"),)) in found
    assert value(found, "chaski_database_up") == 1


def test_a_database_that_does_not_answer_is_reported_not_raised():
    down = closed_port_url().replace("http://", "postgresql://postgres@") + "/chaski"
    found = scrape(make_app(down).test_client())
    assert value(found, "chaski_database_up") == 0
    assert not any(name == "chaski_outbox_messages" for name, _ in found)


def test_sends_are_counted_by_outcome_and_twilio_error_code(database_url, fake_twilio):
    app = make_app(database_url, TWILIO_API_BASE_URL=fake_twilio.base_url,
                   TWILIO_SMS_FROM="+51900000000")
    client, svc = app.test_client(), services(app)
    assert svc.twilio is not None and svc.settings.twilio_account_sid == FAKE_ACCOUNT_SID
    before = scrape(client)
    assert svc.send("sms", "+51900000021", "hola").ok
    fake_twilio.fail_next(status=400, code=21610, message="Attempt to send to unsubscribed recipient")
    assert svc.send("sms", "+51900000022", "hola").error_code == 21610
    after = scrape(client)

    def grew(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("chaski_twilio_sends_total", channel="sms", outcome="sent") == 1
    assert grew("chaski_twilio_sends_total", channel="sms", outcome="error") == 1
    assert grew("chaski_twilio_send_errors_total", channel="sms", code="21610") == 1


def test_rate_limit_waits_are_counted(client):
    now, slept = [100.0], []

    def sleep(seconds):  # a fake clock that moves on while the limiter sleeps
        slept.append(seconds)
        now[0] += seconds

    limiter = RateLimiter({"sms": 2.0}, clock=lambda: now[0], sleep=sleep)
    before = scrape(client)
    for _ in range(3):
        limiter.wait("sms")
    after = scrape(client)
    key = ("chaski_rate_limit_wait_seconds_count", (("channel", "sms"),))
    assert after[key] - before.get(key, 0) == len(slept) >= 2  # the first send had no wait
    total = ("chaski_rate_limit_wait_seconds_sum", (("channel", "sms"),))
    assert after[total] - before.get(total, 0) == pytest.approx(sum(slept))
    assert sum(slept) >= 1.0  # three sends at 2 a second span at least a second


def test_scheduler_jobs_record_duration_last_success_and_errors(app, client, database_url,
                                                                 monkeypatch):
    started = clock_now().timestamp()
    run_job("scheduler_heartbeat", database_url)

    def fails(session, now):
        raise RuntimeError("boom")

    monkeypatch.setitem(JOBS, "test_fails", fails)
    with pytest.raises(RuntimeError):
        run_job("test_fails", database_url)
    found = scrape(client)
    last = value(found, "chaski_job_last_success_timestamp_seconds", job="scheduler_heartbeat")
    assert started - 1 <= last <= clock_now().timestamp() + 1
    assert 0 < value(found, "chaski_job_duration_seconds", job="scheduler_heartbeat") < 30
    assert value(found, "chaski_job_runs_total", job="test_fails", result="error") >= 1
    assert ("chaski_job_last_success_timestamp_seconds", (("job", "test_fails"),)) not in found


def test_nlu_calls_are_timed_and_errors_counted_by_kind(database_url):
    app = make_app(database_url)  # NLU_URL: a closed port
    client, nlu = app.test_client(), services(app).nlu
    before = scrape(client)
    with pytest.raises(NLUUnavailable):
        nlu.parse("como preparo biol")
    after = scrape(client)
    key = ("chaski_nlu_errors_total", (("kind", "unreachable"),))
    assert after[key] - before.get(key, 0) == 1
    count = ("chaski_nlu_request_seconds_count", ())
    assert after[count] - before.get(count, 0) == 1


def test_finished_rows_are_counted_at_most_once_a_minute_and_the_backlog_every_time(client, db):
    def add(status: str, n: int) -> None:
        now = clock_now()
        with db.session() as s:
            contact = s.query(Contact).first() or Contact(phone="+51900000023", channels=["sms"],
                                                           language="es", consent_at=now, profile={},
                                                           created_at=now)
            s.add(contact)
            s.flush()
            for _ in range(n):
                s.add(OutboxMessage(key=f"m:{new_sid()}", source="test", contact_id=contact.id,
                                    channel="sms", body="x", status=status, attempts=0, urgent=False,
                                    next_attempt_at=now, created_at=now, updated_at=now))

    collectors._finished.clear()
    add("sent", 2)
    first = scrape(client)
    add("sent", 3)
    add("queued", 4)
    again = scrape(client)
    assert value(first, "chaski_outbox_messages", status="sent") == 2
    assert value(again, "chaski_outbox_messages", status="sent") == 2  # the minute is not over
    assert value(again, "chaski_outbox_messages", status="queued") == 4  # always fresh
    collectors._finished.clear()
    assert value(scrape(client), "chaski_outbox_messages", status="sent") == 5

"""The outbox sender against the fake Twilio API, on SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.outbound.outbox import enqueue
from bot.outbound.policy import RefusedTopic
from bot.services import services
from bot.outbound.ratelimit import JITTER_MARGIN
from bot.outbound.sender import RateLimiter, Sender
from models import Contact, ConversationState, Message, OutboxMessage, utcnow
from tests.fakes.signing import post_signed
from tests.fakes.outbox import NIGHT, NOON, add_contacts, outbox_app
from tests.fakes.outbox import db  # noqa: F401 - fixture


@pytest.fixture(params=["async", "threads"])
def app(database_url, fake_twilio, request):
    """Yield an outbox app on an empty database, sending in each OUTBOX_HTTP mode."""
    app = outbox_app(database_url, fake_twilio, OUTBOX_HTTP=request.param)
    yield app
    services(app).db.dispose()


def queue(db, contacts, now=NOON, body="Mañana habrá helada: cubra sus cultivos", **fields):
    with db.session() as s:
        for c in contacts:
            enqueue(s, key=f"test:{fields.get('tag', 1)}:{c.id}", source="test", contact_id=c.id,
                    channel=fields.get("channel", "sms"), body=body, now=now,
                    **{k: v for k, v in fields.items() if k not in ("tag", "channel")})


def rows(db):
    with db.session() as s:
        return s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()


def test_sends_each_row_once_rewritten_to_gsm7(app, db, fake_twilio):
    with db.session() as s:
        contacts = add_contacts(s, 3)
    queue(db, contacts)
    queue(db, contacts)  # the same keys again: nothing added
    sender = Sender(services(app))
    assert sender.run_once(NOON) == {"sent": 3}
    assert sender.run_once(NOON) == {}
    assert sorted(m["to"] for m in fake_twilio.messages) == [c.phone for c in contacts]
    assert {m["body"] for m in fake_twilio.messages} == {"Mañana habra helada: cubra sus cultivos"}
    sent = rows(db)
    assert {r.status for r in sent} == {"sent"} and all(r.twilio_sid for r in sent)
    assert {r.twilio_sid for r in sent} == {m["sid"] for m in fake_twilio.messages}
    with db.session() as s:  # the conversation log shows them too
        assert len(s.scalars(select(Message).where(Message.direction == "out")).all()) == 3


def test_rate_limit_spaces_sends_per_channel():
    clock = [0.0]
    limiter = RateLimiter({"sms": 2.0, "whatsapp": 0}, clock=lambda: clock[0],
                          sleep=lambda d: clock.__setitem__(0, clock[0] + d))
    for _ in range(5):
        limiter.wait("sms")
    assert clock[0] == pytest.approx(2.0)  # 5 sends at 2/s: 4 gaps of 0.5 s
    for _ in range(50):
        limiter.wait("whatsapp")  # no limit on this channel
    assert clock[0] == pytest.approx(2.0)


def test_sender_honours_the_configured_rate(database_url, fake_twilio):
    app = outbox_app(database_url, fake_twilio, OUTBOX_RATE_SMS=4)
    clock, slept = [0.0], []

    def sleep(seconds):
        slept.append(seconds)
        clock[0] += seconds

    with services(app).db.session() as s:
        contacts = add_contacts(s, 9)
    queue(services(app).db, contacts)
    # One send at a time: the sleeps then add up on the fake clock (threads would overlap them).
    sender = Sender(services(app), clock=lambda: clock[0], sleep=sleep, concurrency=1)
    assert sender.run_once(NOON) == {"sent": 9}
    # 9 sends at 4/s need 8 gaps of 0.25 s, and the 5th and 9th wait for the four before them
    # to leave the window of one second plus JITTER_MARGIN.
    assert sum(slept) == pytest.approx(2.0 + 2 * JITTER_MARGIN, abs=0.01)
    services(app).db.dispose()


@pytest.mark.parametrize("status,code", [(429, 20429), (503, 20500)])
def test_retries_with_exponential_backoff(app, db, fake_twilio, status, code):
    with db.session() as s:
        contacts = add_contacts(s, 1)
    queue(db, contacts)
    sender = Sender(services(app))
    fake_twilio.fail_next(status, code, "try later", times=2)
    assert sender.run_once(NOON) == {"retry": 1}
    first = rows(db)[0]
    assert (first.status, first.attempts, first.error_code) == ("queued", 1, code)
    assert timedelta(seconds=30) <= first.next_attempt_at - NOON <= timedelta(seconds=33)
    assert sender.run_once(NOON + timedelta(seconds=10)) == {}  # not due yet
    later = first.next_attempt_at
    assert sender.run_once(later) == {"retry": 1}
    second = rows(db)[0]
    assert timedelta(seconds=60) <= second.next_attempt_at - later <= timedelta(seconds=66)
    assert sender.run_once(second.next_attempt_at) == {"sent": 1}
    assert len(fake_twilio.messages) == 1 and rows(db)[0].attempts == 3


def test_gives_up_after_the_last_attempt_with_the_error_code(database_url, fake_twilio):
    app = outbox_app(database_url, fake_twilio, OUTBOX_MAX_ATTEMPTS=2)
    db = services(app).db
    with db.session() as s:
        contacts = add_contacts(s, 1)
    queue(db, contacts)
    fake_twilio.fail_next(500, 20500, "boom", times=2)
    sender = Sender(services(app))
    assert sender.run_once(NOON) == {"retry": 1}
    assert sender.run_once(NOON + timedelta(hours=1)) == {"failed": 1}
    assert (rows(db)[0].status, rows(db)[0].error_code) == ("failed", 20500)
    db.dispose()


def test_21610_marks_the_contact_stopped_and_cancels_the_rest(app, db, fake_twilio):
    with db.session() as s:
        contacts = add_contacts(s, 1)
    queue(db, contacts, tag=1)
    queue(db, contacts, tag=2, next_attempt_at=NOON + timedelta(minutes=5))
    fake_twilio.fail_next(400, 21610, "Attempt to send to unsubscribed recipient")
    assert Sender(services(app)).run_once(NOON) == {"opted_out": 1}
    first, second = rows(db)
    assert (first.status, first.error_code) == ("failed", 21610)
    assert second.status == "canceled"
    with db.session() as s:
        assert s.get(Contact, contacts[0].id).opted_out_at == NOON
    assert Sender(services(app)).run_once(NOON + timedelta(hours=1)) == {}
    assert fake_twilio.messages == []


def test_contact_who_stops_after_queueing_is_skipped_at_send_time(app, db, fake_twilio):
    with db.session() as s:
        contacts = add_contacts(s, 2)
    queue(db, contacts)
    with db.session() as s:
        s.get(Contact, contacts[0].id).opted_out_at = NOON - timedelta(minutes=1)
    assert Sender(services(app)).run_once(NOON) == {"canceled": 1, "sent": 1}
    assert [m["to"] for m in fake_twilio.messages] == [contacts[1].phone]
    assert [r.status for r in rows(db)] == ["canceled", "sent"]


def test_whatsapp_outside_24_hours_uses_the_template(app, db, fake_twilio):
    with db.session() as s:
        inside = add_contacts(s, 1, channels=["whatsapp"],
                              last_whatsapp_inbound_at=NOON - timedelta(hours=2))
        outside = add_contacts(s, 1, start=910_000_100, channels=["whatsapp"],
                               last_whatsapp_inbound_at=NOON - timedelta(days=2))
        bare = add_contacts(s, 1, start=910_000_200, channels=["whatsapp"])
    queue(db, inside + outside, channel="whatsapp", content_sid="HX" + "a" * 32,
          content_variables={"1": "Junín"})
    queue(db, bare, channel="whatsapp")  # no template: cannot be sent outside the window
    assert Sender(services(app)).run_once(NOON) == {"sent": 2, "failed": 1}
    by_to = {m["to"]: m for m in fake_twilio.messages}
    assert by_to[f"whatsapp:{inside[0].phone}"]["body"] == "Mañana habrá helada: cubra sus cultivos"
    template = [r["form"] for r in fake_twilio.requests
                if r["form"].get("To") == f"whatsapp:{outside[0].phone}"]
    assert template == [{"To": f"whatsapp:{outside[0].phone}", "From": "whatsapp:+51900000000",
                         "ContentSid": "HX" + "a" * 32, "ContentVariables": '{"1": "Junín"}'}]
    failed = rows(db)[2]
    assert (failed.status, failed.error_code) == ("failed", 63016)


def test_63016_falls_back_to_the_template(app, db, fake_twilio):
    with db.session() as s:  # our record says inside the window; Twilio says otherwise
        contacts = add_contacts(s, 1, channels=["whatsapp"],
                                last_whatsapp_inbound_at=NOON - timedelta(hours=1))
    queue(db, contacts, channel="whatsapp", content_sid="HX" + "b" * 32)
    fake_twilio.fail_next(400, 63016, "Failed to send freeform message outside the window")
    assert Sender(services(app)).run_once(NOON) == {"sent": 1}
    assert [("Body" in r["form"], r["status"]) for r in fake_twilio.requests] == [
        (True, 400), (False, 201)]
    assert rows(db)[0].sent_as == "template"


def test_status_callbacks_update_outbox_rows(app, db, fake_twilio):
    with db.session() as s:
        contacts = add_contacts(s, 1)
    queue(db, contacts)
    Sender(services(app)).run_once(NOON)
    sid = rows(db)[0].twilio_sid
    client = app.test_client()
    for status in ("delivered", "sent"):  # a late "sent" never moves it back
        form = {"MessageSid": sid, "MessageStatus": status}
        assert post_signed(client, "/webhooks/twilio/status", form).status_code == 204
    assert rows(db)[0].status == "delivered"
    form = {"MessageSid": sid, "MessageStatus": "undelivered", "ErrorCode": "30003"}
    post_signed(client, "/webhooks/twilio/status", form)
    assert rows(db)[0].status == "delivered"


def test_failed_callback_with_21610_stops_the_contact(app, db, fake_twilio):
    with db.session() as s:
        contacts = add_contacts(s, 1)
    queue(db, contacts)
    Sender(services(app)).run_once(NOON)
    queue(db, contacts, tag=2)  # a later message, still queued when the callback comes
    form = {"MessageSid": rows(db)[0].twilio_sid, "MessageStatus": "failed", "ErrorCode": "21610"}
    assert post_signed(app.test_client(), "/webhooks/twilio/status", form).status_code == 204
    assert (rows(db)[0].status, rows(db)[0].error_code) == ("failed", 21610)
    assert rows(db)[1].status == "canceled"  # same rule as when the sender itself gets 21610
    with db.session() as s:
        assert s.get(Contact, contacts[0].id).opted_out_at is not None


def test_quiet_hours_hold_messages_until_seven_except_red_alerts(app, db, fake_twilio):
    with db.session() as s:
        contacts = add_contacts(s, 2)
    queue(db, contacts[:1], now=NIGHT)
    queue(db, contacts[1:], now=NIGHT, tag="red", urgent=True)
    queue(db, contacts[:1], now=NOON, tag="day")  # queued by day, due while the sender runs at night
    assert Sender(services(app)).run_once(NIGHT) == {"sent": 1, "deferred": 1}
    assert [m["to"] for m in fake_twilio.messages] == [contacts[1].phone]
    seven = NIGHT.replace(hour=12, minute=0) + timedelta(days=0)  # 07:00 Lima = 12:00 UTC
    assert {r.next_attempt_at for r in rows(db) if r.status == "queued"} == {seven}
    assert Sender(services(app)).run_once(seven) == {"sent": 2}


def test_never_interrupts_a_conversation_about_violence(app, db, fake_twilio):
    with db.session() as s:
        contacts = add_contacts(s, 1)
        s.add(ConversationState(contact_id=contacts[0].id, flow="support", step="options",
                                expires_at=NOON + timedelta(minutes=40)))
    queue(db, contacts)
    assert Sender(services(app)).run_once(NOON) == {"deferred": 1}
    assert fake_twilio.messages == []
    with pytest.raises(RefusedTopic), db.session() as s:
        enqueue(s, key="x", source="test", contact_id=contacts[0].id, channel="sms",
                body="seguimiento", now=NOON, topic="support")


def test_unanswered_request_is_checked_with_twilio_not_resent(database_url, fake_twilio):
    app = outbox_app(database_url, fake_twilio, TWILIO_TIMEOUT=0.3, OUTBOX_LEASE_SECONDS=1)
    db = services(app).db
    with db.session() as s:
        contacts = add_contacts(s, 1)
    now = utcnow()
    queue(db, contacts, now=now, urgent=True)
    fake_twilio.delay_next(0.8)  # Twilio accepts it, but after our client gave up
    sender = Sender(services(app))
    assert sender.run_once(now) == {"unknown": 1}
    assert fake_twilio.wait_idle(5) and len(fake_twilio.messages) == 1
    assert rows(db)[0].status == "sending"
    assert sender.run_once(now) == {}  # lease not over: left alone
    assert sender.run_once(now + timedelta(seconds=2)) == {"recovered_sent": 1}
    assert rows(db)[0].twilio_sid == fake_twilio.messages[0]["sid"]
    assert len(fake_twilio.messages) == 1
    db.dispose()


def test_row_of_a_dead_sender_is_resent_only_if_twilio_never_got_it(database_url, fake_twilio):
    app = outbox_app(database_url, fake_twilio, OUTBOX_LEASE_SECONDS=1)
    db = services(app).db
    with db.session() as s:
        contacts = add_contacts(s, 2)
    now = utcnow()
    queue(db, contacts, now=now, urgent=True)
    dead = Sender(services(app), name="dead")
    claimed = dead.claim(now, 10)  # committed as sending, then the sender "dies"...
    services(app).send("sms", contacts[0].phone, "Mañana habrá helada: cubra sus cultivos")
    # ...after Twilio accepted the first message and before it sent the second.
    later = now + timedelta(seconds=2)
    outcome = Sender(services(app), name="heir").run_once(later)
    assert outcome == {"recovered_sent": 1, "recovered_requeued": 1, "sent": 1}
    assert Sender(services(app), name="heir").run_once(later) == {}
    assert sorted(m["to"] for m in fake_twilio.messages) == sorted(c.phone for c in contacts)
    assert len(claimed) == 2 and {r.status for r in rows(db)} == {"sent"}
    db.dispose()


def test_claims_no_more_than_it_can_send_within_its_lease(database_url, fake_twilio):
    app = outbox_app(database_url, fake_twilio, OUTBOX_RATE_SMS=0.2, OUTBOX_LEASE_SECONDS=120,
                     OUTBOX_RATE_SMS_COUNTS="messages")
    assert Sender(services(app))._claim_limit() == 6  # 0.2/s x 30 s (a quarter of the lease)
    # Counting segments, an SMS is assumed to take up to 3 of them: a third as many rows.
    services(app).settings = services(app).settings.with_overrides(
        {"OUTBOX_RATE_SMS_COUNTS": "segments"})
    assert Sender(services(app))._claim_limit() == 2
    services(app).db.dispose()


def test_worker_threads_share_the_work_and_send_each_once(app, db, fake_twilio):
    from bot.outbound.sender import run_workers

    now = utcnow()
    with db.session() as s:
        contacts = add_contacts(s, 60)
    queue(db, contacts, now=now, urgent=True)
    assert run_workers(services(app), 3) == {"sent": 60}
    assert sorted(m["to"] for m in fake_twilio.messages) == sorted(c.phone for c in contacts)


def test_stalled_sender_gives_its_claim_back_instead_of_racing_a_takeover(database_url,
                                                                          fake_twilio):
    """A sender that waited past half its lease (a loaded machine) must not send that row."""
    app = outbox_app(database_url, fake_twilio, OUTBOX_LEASE_SECONDS=10)
    db = services(app).db
    with db.session() as s:
        contacts = add_contacts(s, 1)
    queue(db, contacts, urgent=True)
    clock = [0.0]

    class StallingLimiter(RateLimiter):
        def wait(self, channel, cost=1):
            clock[0] += 6  # more than half the 10 s lease goes by before the request

        async def wait_async(self, channel, cost=1):
            self.wait(channel, cost)

    stalled = Sender(services(app), name="stalled", clock=lambda: clock[0],
                     limiter=StallingLimiter({}, clock=lambda: clock[0], sleep=lambda s: None))
    assert stalled.run_once(NOON) == {"released": 1}
    assert fake_twilio.messages == []
    assert [(r.status, r.claimed_by, r.attempts) for r in rows(db)] == [("queued", None, 0)]
    assert Sender(services(app), name="heir").run_once(NOON) == {"sent": 1}
    assert len(fake_twilio.messages) == 1
    db.dispose()

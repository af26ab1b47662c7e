"""Retention: the daily job with the clock moved 400 days ahead, on SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.console.dashboard import stats
from bot.jobs import JOBS
from bot.privacy.retention import enforce
from models import ConversationState, Message, OutboxMessage, utcnow
from tests.fakes.signing import FAKE_PHONE
from tests.privacy.helpers import HER_WORDS, give_her_history, say


def test_retention_job_400_days_later_blanks_bodies_and_keeps_the_figures(app, client, db, clock):
    start = utcnow().replace(microsecond=0)
    clock(start)
    give_her_history(client, db)
    say(client, "BORRAR")  # the question waits for 1 or 2: a conversation state
    with db.session() as s:
        s.scalar(select(OutboxMessage)).status = "delivered"
        with app.app_context():
            before = stats(s, 1, start)
        assert s.scalar(select(ConversationState)) is not None

    clock(start + timedelta(days=10))  # not yet: nothing changes
    with db.session() as s:
        counts = JOBS["enforce_retention"](s, utcnow())
    assert counts == {"message_bodies": 0, "outbox_bodies": 0, "conversation_states": 1}

    later = start + timedelta(days=400)
    clock(later)
    with db.session() as s:
        counts = JOBS["enforce_retention"](s, utcnow())
    assert counts == {"message_bodies": 4, "outbox_bodies": 1, "conversation_states": 0}
    with db.session() as s:
        messages = s.scalars(select(Message).order_by(Message.id)).all()
        assert all(m.body is None for m in messages)
        assert messages[0].intent and messages[0].channel == "sms" and messages[0].flow
        assert abs(messages[0].created_at - start) < timedelta(minutes=1)
        assert messages[0].contact.phone == FAKE_PHONE
        assert s.scalar(select(OutboxMessage.body)) == ""
        assert not any(HER_WORDS in (m.body or "") for m in messages)
        with app.app_context():
            assert stats(s, 1, start) == before  # the dashboard still counts them
        assert enforce(s, utcnow(), 365) == {"message_bodies": 0, "outbox_bodies": 0,
                                             "conversation_states": 0}  # idempotent


def test_a_queued_outbox_row_keeps_its_body(client, db, clock):
    start = utcnow().replace(microsecond=0)
    clock(start)
    give_her_history(client, db)
    clock(start + timedelta(days=400))
    with db.session() as s:
        enforce(s, utcnow(), 365)
        assert s.scalar(select(OutboxMessage.body)) == "Hola rosaura, tu zapallo"


def test_retention_days_below_one_is_refused(db):
    with db.session() as s:
        try:
            enforce(s, utcnow(), 0)
        except ValueError as exc:
            assert "RETENTION_DAYS" in str(exc)
        else:
            raise AssertionError("RETENTION_DAYS=0 was accepted")

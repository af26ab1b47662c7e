"""Retention: what is blanked or deleted as it grows old (the daily `enforce_retention` job).

* message bodies older than RETENTION_DAYS (default 365) are blanked; direction,
  channel, intent, confidence, entities, flow, status, segments and time stay, so
  the dashboard's figures still count them;
* outbox rows that are finished (sent, delivered, read, failed, undelivered,
  canceled) lose their body 30 days after their last change;
* conversation states whose time ran out are deleted.

Running it again at once changes nothing and returns zeros.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from bot.settings import from_env
from models import ConversationState, Message, OutboxMessage

FINISHED = ("sent", "delivered", "read", "failed", "undelivered", "canceled")
OUTBOX_BODY_DAYS = 30


def enforce(session: Session, now: datetime, retention_days: int) -> dict:
    """Blank old message bodies and finished outbox bodies, delete expired states; return counts."""
    if retention_days < 1:
        raise ValueError(f"RETENTION_DAYS must be at least 1, not {retention_days}")
    bodies = session.execute(
        update(Message).where(Message.created_at < now - timedelta(days=retention_days),
                              Message.body.is_not(None))
        .values(body=None).execution_options(synchronize_session=False)).rowcount
    outbox = session.execute(
        update(OutboxMessage).where(OutboxMessage.status.in_(FINISHED), OutboxMessage.body != "",
                                    OutboxMessage.updated_at < now - timedelta(days=OUTBOX_BODY_DAYS))
        .values(body="").execution_options(synchronize_session=False)).rowcount
    states = session.execute(
        delete(ConversationState).where(ConversationState.expires_at <= now)).rowcount
    return {"message_bodies": bodies or 0, "outbox_bodies": outbox or 0,
            "conversation_states": states or 0}


def enforce_retention(session: Session, now: datetime) -> dict:
    """Apply RETENTION_DAYS from the environment (the scheduler's daily job)."""
    return enforce(session, now, from_env().retention_days)


JOBS = {"enforce_retention": enforce_retention}

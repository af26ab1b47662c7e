"""Write proactive messages into the outbox: idempotent keys, counts, cancelling.

Every proactive message goes through here, inside the caller's transaction, so
the outbox row commits (or rolls back) with whatever created it. The rules each
row obeys (quiet hours, violence, the 24-hour window) are in bot/outbound/policy.py.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot.outbound.policy import check_topic, first_attempt_at
from models import Contact, OutboxMessage
from models.outbox import PRIVATE_REPLY_TOPIC

STATUSES = ["queued", "sending", "sent", "delivered", "read", "undelivered", "failed", "canceled"]


def dialect_insert(session: Session):
    """Return the dialect's INSERT that supports ON CONFLICT DO NOTHING."""
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def enqueue_many(session: Session, rows: list[dict], now: datetime, chunk: int = 5000,
                 progress=None) -> int:
    """Insert outbox rows whose key is new; return how many were added (re-runs add 0)."""
    insert = dialect_insert(session)
    added = 0
    for start in range(0, len(rows), chunk):
        batch = rows[start:start + chunk]
        for row in batch:
            check_topic(row.get("topic"))
            row.setdefault("status", "queued")
            row.setdefault("attempts", 0)
            row.setdefault("urgent", False)
            row.setdefault("next_attempt_at", first_attempt_at(now, row["urgent"]))
            row.setdefault("created_at", now)
            row.setdefault("updated_at", now)
        stmt = (insert(OutboxMessage).on_conflict_do_nothing(index_elements=["key"])
                .returning(OutboxMessage.id))
        added += len(session.connection().execute(stmt, batch).all())  # only the new rows
        if progress:
            progress(len(batch))
    return added


def enqueue(session: Session, *, key: str, source: str, contact_id: int, channel: str,
            body: str, now: datetime, **fields) -> bool:
    """Add one outbox row unless its key exists; return whether it was added."""
    return enqueue_many(session, [dict(key=key, source=source, contact_id=contact_id,
                                       channel=channel, body=body, **fields)], now) == 1


def counts(session: Session, broadcast_id: int | None = None) -> dict:
    """Return {status: count} for the whole outbox or one broadcast."""
    query = select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    if broadcast_id is not None:
        query = query.where(OutboxMessage.broadcast_id == broadcast_id)
    found = dict(session.execute(query).all())
    return {status: found.get(status, 0) for status in STATUSES} | found


def due_count(session: Session, now: datetime) -> int:
    """Return how many rows are queued or being sent and due by `now` (what a drain sends)."""
    return session.scalar(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.status.in_(["queued", "sending"]), OutboxMessage.next_attempt_at <= now))


def cancel_queued(session: Session, now: datetime, reason: str, key_prefix: str | None = None,
                  **where) -> int:
    """Cancel the queued rows matching `where` (e.g. broadcast_id=7) and `key_prefix`; return how many."""
    stmt = update(OutboxMessage).where(OutboxMessage.status == "queued")
    if key_prefix:
        stmt = stmt.where(OutboxMessage.key.startswith(key_prefix, autoescape=True))
    for name, value in where.items():
        stmt = stmt.where(getattr(OutboxMessage, name) == value)
    forget = case((OutboxMessage.topic == PRIVATE_REPLY_TOPIC, ""), else_=OutboxMessage.body)
    result = session.execute(stmt.values(status="canceled", error_message=reason, updated_at=now,
                                         body=forget)
                             .execution_options(synchronize_session=False))
    return result.rowcount or 0


def stop_after_carrier_opt_out(session: Session, contact_id: int, now: datetime) -> int:
    """Mark a contact stopped after Twilio's 21610 and cancel their queued rows; return how many."""
    session.execute(update(Contact).where(Contact.id == contact_id, Contact.opted_out_at.is_(None))
                    .values(opted_out_at=now).execution_options(synchronize_session=False))
    return cancel_queued(session, now, "contact opted out (21610)", contact_id=contact_id)

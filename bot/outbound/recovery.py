"""Settle outbox rows left in `sending` by a sender that died or got no answer.

Such a row is never resent blindly: once its lease has run out, a sender takes
it over and asks Twilio's message list whether the message arrived (see the
docstring of bot/outbound/sender.py for the whole argument).

    sending ──(lease over; found at Twilio)──▶ sent
       │
       ├──(lease over; Twilio has no such message)──▶ queued (sent again)
       └──(Twilio could not be asked)──▶ sending (tried again after another lease)
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from bot import channels
from models import Contact, Message, OutboxMessage

log = logging.getLogger(__name__)


def recover(sender, now: datetime) -> list[str]:
    """Settle rows whose sender died or got no answer, once their lease ran out."""
    stale = (select(OutboxMessage.id, OutboxMessage.claimed_at)
             .where(OutboxMessage.status == "sending", OutboxMessage.claimed_at <= now - sender.lease)
             .order_by(OutboxMessage.id).limit(sender.batch))
    siblings = sorted(set(sender.siblings) - {sender.name})
    if siblings:  # live workers of this process: their rows may be in flight, never taken over
        stale = stale.where(or_(OutboxMessage.claimed_by.is_(None),
                                OutboxMessage.claimed_by.notin_(siblings)))
    with sender.db.session() as s:
        candidates = s.execute(stale).all()
        taken = []
        for row_id, claimed_at in candidates:  # take over only if nobody else just did
            result = s.execute(update(OutboxMessage)
                               .where(OutboxMessage.id == row_id,
                                      OutboxMessage.status == "sending",
                                      OutboxMessage.claimed_at == claimed_at)
                               .values(claimed_by=sender.name, claimed_at=now)
                               .execution_options(synchronize_session=False))
            if result.rowcount == 1:
                taken.append((row_id, claimed_at))
    return [_settle(sender, row_id, claimed_at, now) for row_id, claimed_at in taken]


def _settle(sender, row_id: int, claimed_at: datetime, now: datetime) -> str:
    with sender.db.session() as s:
        row = s.get(OutboxMessage, row_id)
        contact = s.get(Contact, row.contact_id)
        try:
            sid = _find_at_twilio(sender, s, row, contact, claimed_at)
        except Exception as exc:  # noqa: BLE001 - try again after another lease
            log.warning("cannot check outbox row %s with Twilio (%s): retried later", row_id, exc)
            return "unsettled"
        if sid:
            row.status, row.twilio_sid, row.sent_at, row.updated_at = "sent", sid, now, now
            row.error_message = "sent (found at Twilio after the sender stopped)"
            sender._log_sent(s, row, sid, "queued", None, now)
            row.body = "" if row.private else row.body
            return "recovered_sent"
        row.status, row.next_attempt_at, row.updated_at = "queued", now, now
        row.claimed_by = row.claimed_at = None
        return "recovered_requeued"


def _find_at_twilio(sender, s: Session, row: OutboxMessage, contact: Contact,
                    claimed_at: datetime) -> str | None:
    """Return the SID of the message Twilio accepted for this row, or None."""
    client = sender.services.twilio
    if client is None:
        raise RuntimeError("no Twilio client")
    channel = channels.get(row.channel)
    since = claimed_at - timedelta(seconds=60)  # clock skew; Twilio keeps whole seconds
    rendered = channel.render(row.body)
    found = [m for m in client.messages.list(to=channel.address(contact.phone), limit=50)
             if (m.direction or "outbound-api") == "outbound-api"
             and (m.date_created is None or m.date_created >= since)]
    if not found:
        return None
    sids = [m.sid for m in found]
    known = set(s.scalars(select(OutboxMessage.twilio_sid).where(
        OutboxMessage.twilio_sid.in_(sids))))
    known |= set(s.scalars(select(Message.twilio_sid).where(Message.twilio_sid.in_(sids))))
    for m in found:
        if m.sid in known:
            continue
        if m.body == rendered or (row.content_sid and m.body != rendered):
            return m.sid
    return None

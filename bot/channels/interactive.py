"""WhatsApp replies with buttons or a list, sent by REST through the outbox.

Inside the 24-hour window (bot/outbound/policy.py) a WhatsApp reply that offers
choices (flows.options.Choices) goes as a Content API item instead of TwiML:

1. `prepare` (the engine's read phase, no writes): find each item in the cache
   table, or create it through the Content API. Any failure, or a reply no item can
   show, and the turn keeps today's numbered text in TwiML.
2. `write` (with the turn's other writes, one transaction): the new cache rows, and
   one outbox row per reply of the turn, in order, keyed "reply:<MessageSid>:<n>".
   A repeated webhook finds its MessageSid stored and writes nothing.
3. `send_now` (after the commit, still in the request): claim and send this
   MessageSid's rows that are still queued, through the sender's own checks; a row
   claimed by a sender process, or already sent, is not sent again. The webhook
   then answers an empty <Response/>.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.channels import content
from bot.outbound.outbox import dialect_insert, enqueue_many
from bot.outbound.routing import REPLY_SOURCE
from flows.options import Choices
from models import ContentItem, OutboxMessage, utcnow
from models.outbox import PRIVATE_REPLY_TOPIC

log = logging.getLogger(__name__)


@dataclass
class Plan:
    """What a turn sends by REST: its replies in order (text, ContentSid or None), new items."""

    replies: list[tuple[str, str | None]]
    new_items: list[dict] = field(default_factory=list)


def key_prefix(inbound_sid: str) -> str:
    """Return the outbox key prefix of the REST replies to one inbound message."""
    return f"{REPLY_SOURCE}:{inbound_sid}:"


class Interactive:
    """Send WhatsApp replies with choices as Content API items (configured with a sender)."""

    def __init__(self, services):
        """`services` returns the app's services (settings, the Twilio client), read at each use."""
        self.services = services

    def client(self):
        """Return the Twilio REST client (None without credentials)."""
        return self.services().twilio

    def enabled(self) -> bool:
        """Tell whether REST replies are possible: a WhatsApp sender and credentials."""
        return bool(self.services().settings.twilio_whatsapp_from) and self.client() is not None

    def prepare(self, session: Session, channel: str, replies: list, rendered: list[str],
                language: str, now) -> Plan | None:
        """Return the REST plan of a turn's replies, or None to answer by TwiML as before."""
        if channel != "whatsapp" or not any(isinstance(r, Choices) for r in replies):
            return None
        if not self.enabled():  # an answer to her message is inside the window; routing.py
            return None         # checks it again (policy.inside_whatsapp_window) when sending
        plan, shown = Plan([]), False
        for reply, text in zip(replies, rendered):
            item = content.definition(reply, language) if isinstance(reply, Choices) else None
            sid = None
            if item is not None:
                sid = content.cached(session, item.digest) or self._create(item, plan, now)
                if sid is None:
                    return None  # the Content API failed: numbered text, as by SMS
                shown = True
            plan.replies.append((text, sid))
        return plan if shown else None

    def _create(self, item: content.Definition, plan: Plan, now) -> str | None:
        try:
            sid = content.create(self.client(), item)
        except content.ContentError as exc:
            log.warning("Content API failed (%s): answering with numbered text", exc)
            return None
        plan.new_items.append(content.row(item, sid, now))
        return sid

    @staticmethod
    def write(session: Session, plan: Plan, contact_id: int, inbound_sid: str, private: bool,
              now) -> int:
        """Store the new items and queue the replies (the turn's transaction); return rows added."""
        if plan.new_items:
            insert = dialect_insert(session)
            session.execute(insert(ContentItem).on_conflict_do_nothing(index_elements=["digest"]),
                            plan.new_items)
        prefix = key_prefix(inbound_sid)
        rows = [dict(key=f"{prefix}{n}", source=REPLY_SOURCE, contact_id=contact_id,
                     channel="whatsapp", body=text, content_sid=sid,
                     content_variables={} if sid else None,
                     topic=PRIVATE_REPLY_TOPIC if private else None,
                     urgent=True,  # an answer, not a broadcast: quiet hours do not hold it back
                     next_attempt_at=now)
                for n, (text, sid) in enumerate(plan.replies, 1)]
        return enqueue_many(session, rows, now)

    @staticmethod
    def has_rows(session: Session, inbound_sid: str | None) -> bool:
        """Tell whether the replies to this inbound message went by REST."""
        if not inbound_sid:
            return False
        return session.scalar(select(OutboxMessage.id).where(
            OutboxMessage.key.startswith(key_prefix(inbound_sid), autoescape=True)).limit(1)) is not None

    def send_now(self, services, inbound_sid: str) -> list[str]:
        """Claim and send this message's queued REST replies in order; return the outcomes."""
        from bot.outbound.sender import Sender  # the sender needs the services, built after us

        sender = Sender(services, concurrency=1)
        now = utcnow()
        with services.db.session() as s:
            claimed = s.scalars(
                update(OutboxMessage)
                .where(OutboxMessage.key.startswith(key_prefix(inbound_sid), autoescape=True),
                       OutboxMessage.status == "queued")
                .values(status="sending", claimed_by=sender.name, claimed_at=now,
                        attempts=OutboxMessage.attempts + 1, updated_at=now)
                .returning(OutboxMessage.id)
                .execution_options(synchronize_session=False)).all()
        return [sender.deliver(row_id, now) for row_id in sorted(claimed)]

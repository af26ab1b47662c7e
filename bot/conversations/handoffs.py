"""Staff replies to hand-offs: one outbox row each, within WhatsApp's rules, private when needed.

A reply is what the person asked for (a person), not a proactive message. It
goes through the outbox and the sender like any message (opt-out re-checked at
send time, quiet hours unless the hand-off is urgent, held while the contact is
in an open support conversation) except a private reply, which IS part of that
conversation and goes out at once.

Replies to a conversation about violence are *private*: the outbox row's topic
is PRIVATE_TOPIC, the sender logs the sent message without its body (redacted,
like the rest of that conversation) and blanks the outbox row's body once the
row is final (sent, failed or canceled). Until then the body exists only in that
one outbox row, because the sender needs it; the audit log never holds it.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.outbound.outbox import PRIVATE_REPLY_TOPIC, enqueue
from bot.outbound import templates
from bot.outbound.policy import inside_whatsapp_window
from models import AuditLog, Contact, HandoffRequest, Message, OutboxMessage

SOURCE = "handoff"
TOPIC, PRIVATE_TOPIC = "handoff", PRIVATE_REPLY_TOPIC
MAX_CHARS = 1600


class ReplyRefused(ValueError):
    """A reply that must not be sent; the message (Spanish) says why and what to do."""


def reply_key(handoff_id: int, n: int) -> str:
    return f"handoff:{handoff_id}:reply:{n}"


def reply_channels(session: Session, rows: list[tuple[HandoffRequest, Contact]]) -> dict[int, str]:
    """Return {hand-off id: the channel the person asked on (else WhatsApp if used, else SMS)}."""
    asked = {m: None for m in (h.message_id for h, _ in rows) if m}
    if asked:
        asked.update(session.execute(select(Message.id, Message.channel)
                                     .where(Message.id.in_(list(asked)))).all())
    return {h.id: asked.get(h.message_id) or
            ("whatsapp" if "whatsapp" in (c.channels or []) else "sms") for h, c in rows}


def reply_channel(session: Session, handoff: HandoffRequest, contact: Contact) -> str:
    """Return the channel the person asked on (else WhatsApp if they use it, else SMS)."""
    return reply_channels(session, [(handoff, contact)])[handoff.id]


def send_reply(session: Session, handoff: HandoffRequest, contact: Contact, body: str, *,
               user, now: datetime, private: bool, template_sid: str | None = None,
               ip: str | None = None, number: int | None = None) -> OutboxMessage:
    """Queue a staff reply and mark the hand-off answered, audited, in the caller's transaction.

    `number` is the reply's number the form was shown with: a second click on the
    same form gets the same key, so it adds nothing.
    """
    body = (body or "").strip()
    if not body:
        raise ReplyRefused("Escribe la respuesta antes de enviarla.")
    if len(body) > MAX_CHARS:
        raise ReplyRefused(f"La respuesta es muy larga (máximo {MAX_CHARS} caracteres).")
    if handoff.status == "closed":
        raise ReplyRefused("Esta derivación está cerrada: no se envió nada.")
    if contact.opted_out_at is not None:
        raise ReplyRefused("Esta persona pidió BAJA: no se le envía ningún mensaje hasta que "
                           "escriba ALTA. No se envió nada.")
    channel = reply_channel(session, handoff, contact)
    content_sid, variables = None, None
    saved = templates.find(session, None, SOURCE, contact.language)  # the Plantillas page wins
    if saved:
        template_sid, variables = saved[0], templates.fill(saved[1], body)
    if channel == "whatsapp":
        inside = inside_whatsapp_window(contact.last_whatsapp_inbound_at, now)
        if not inside and private:
            raise ReplyRefused("Pasaron más de 24 horas desde su último mensaje por WhatsApp. En una "
                               "conversación de apoyo no se envía una plantilla (podría verla otra "
                               "persona en ese teléfono): espera a que ella vuelva a escribir. "
                               "No se envió nada.")
        if not inside and not template_sid:
            raise ReplyRefused("Pasaron más de 24 horas desde su último mensaje por WhatsApp: "
                               "WhatsApp solo permite una plantilla aprobada y no hay ninguna "
                               "configurada (HANDOFF_TEMPLATE_SID). Espera a que vuelva a escribir. "
                               "No se envió nada.")
        if not private:
            content_sid = template_sid  # outside 24 h it is what goes out; inside, a fallback
    prefix = reply_key(handoff.id, 0)[:-1]
    n = session.scalar(select(func.count()).select_from(OutboxMessage)
                       .where(OutboxMessage.key.like(f"{prefix}%"))) + 1
    key = reply_key(handoff.id, number if number and 0 < number <= n else n)
    if not enqueue(session, key=key, source=SOURCE, contact_id=contact.id, channel=channel,
                   body=body, now=now, topic=PRIVATE_TOPIC if private else TOPIC,
                   urgent=bool(handoff.urgent), content_sid=content_sid,
                   content_variables=variables if content_sid else None):
        raise ReplyRefused("Esa respuesta ya está en la bandeja de salida (¿doble clic?), o alguien "
                           "respondió al mismo tiempo. Vuelve a cargar la página. No se envió nada más.")
    row = session.scalar(select(OutboxMessage).where(OutboxMessage.key == key))
    handoff.status = "answered"
    session.add(AuditLog(user_id=user.id, email=user.email, action="handoff_reply",
                         target=f"handoff:{handoff.id}", ip=ip,
                         detail={"outbox_id": row.id, "key": key, "channel": channel,
                                 "template": bool(content_sid), "private": private}))
    return row


def latest_replies(session: Session, handoffs: list[tuple[int, int]]) -> dict[int, dict]:
    """Return {hand-off id: its last reply's status, channel, count...} for (id, contact id) pairs."""
    if not handoffs:
        return {}
    handoff_ids = [h for h, _ in handoffs]
    rows = session.execute(select(OutboxMessage.key, OutboxMessage.status, OutboxMessage.channel,
                                  OutboxMessage.sent_as, OutboxMessage.error_code,
                                  OutboxMessage.next_attempt_at, OutboxMessage.id)
                           .where(OutboxMessage.source == SOURCE,
                                  OutboxMessage.contact_id.in_({c for _, c in handoffs}))
                           .order_by(OutboxMessage.id)).all()
    wanted, found = set(handoff_ids), {}
    for key, status, channel, sent_as, error_code, next_at, row_id in rows:
        parts = key.split(":")
        if len(parts) != 4 or not parts[1].isdigit() or int(parts[1]) not in wanted:
            continue
        entry = found.setdefault(int(parts[1]), {"count": 0})
        entry.update(count=entry["count"] + 1, status=status, channel=channel, sent_as=sent_as,
                     error_code=error_code, next_attempt_at=next_at, outbox_id=row_id)
    return found

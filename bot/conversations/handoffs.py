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

Media of a technician hand-off (a photo or voice note) stays at Twilio: the hand-off keeps
its URL and content type, and `fetch_media` reads it with the account's credentials
(HTTP basic auth) only while a member of staff looks at it; nothing is written to disk.
"""
from __future__ import annotations

import re
from datetime import datetime
from urllib.parse import urlsplit

import requests
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.outbound.outbox import PRIVATE_REPLY_TOPIC, enqueue
from bot.outbound import templates
from bot.outbound.policy import inside_whatsapp_window
from models import AuditLog, Contact, HandoffRequest, Message, OutboxMessage

SOURCE = "handoff"
TOPIC, PRIVATE_TOPIC = "handoff", PRIVATE_REPLY_TOPIC
MAX_CHARS = 1600
# Twilio's inbound media: /2010-04-01/Accounts/AC.../Messages/MM.../Media/ME... on api.twilio.com.
_MEDIA_URL = re.compile(r"^https://api\.twilio\.com/2010-04-01/Accounts/(AC[0-9a-fA-F]{32})/"
                        r"Messages/[A-Z]{2}[0-9a-fA-F]{32}/Media/ME[0-9a-fA-F]{32}$")
SHOWN_TYPES = ("image/", "audio/")  # what the console shows inline or plays
MAX_MEDIA_BYTES = 16 * 1024 * 1024  # WhatsApp's own limit for audio and video


class MediaUnavailable(RuntimeError):
    """Twilio did not give the media (gone, refused, too big or not reachable)."""


def is_twilio_media_url(url: str) -> bool:
    """Tell whether `url` is a Twilio media URL (the only kind ever kept or fetched)."""
    return bool(_MEDIA_URL.match(url or ""))


def shown(ref: dict) -> bool:
    """Tell whether a media reference is an image or audio the console may show."""
    return is_twilio_media_url(ref.get("url", "")) and str(ref.get("content_type", "")).lower(
    ).startswith(SHOWN_TYPES)


def fetch_media(ref: dict, settings) -> tuple[bytes, str]:
    """Return (bytes, content type) of one media reference, read from Twilio with basic auth."""
    match = _MEDIA_URL.match(ref.get("url", ""))
    sid, token = settings.twilio_account_sid, settings.twilio_auth_token
    if not match or not shown(ref):
        raise MediaUnavailable("not a Twilio image or audio")
    if not sid or not token or match.group(1) != sid:
        raise MediaUnavailable("the media belongs to another Twilio account, or none is set")
    url = ref["url"]
    base = (settings.twilio_api_base_url or "").rstrip("/")
    with requests.Session() as http:
        if base:  # tests: the loopback fake media server stands in for api.twilio.com
            url = base + urlsplit(url).path
            http.trust_env = urlsplit(base).hostname not in {"127.0.0.1", "localhost", "::1"}
        try:
            with http.get(url, auth=(sid, token), timeout=settings.twilio_timeout,
                          stream=True) as response:
                if response.status_code != 200:
                    raise MediaUnavailable(f"Twilio answered {response.status_code}")
                data = bytearray()  # grown in place: a bytes += copies all of it per chunk
                for chunk in response.iter_content(64 * 1024):
                    data += chunk
                    if len(data) > MAX_MEDIA_BYTES:
                        raise MediaUnavailable("larger than 16 MB")
        except requests.RequestException as exc:
            raise MediaUnavailable(f"Twilio not reachable: {type(exc).__name__}") from exc
    return bytes(data), ref["content_type"]


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

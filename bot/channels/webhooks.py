"""Twilio webhooks: inbound messages (SMS and WhatsApp) and delivery status callbacks."""
from __future__ import annotations

import logging
from functools import wraps

from flask import Blueprint, Response, abort, request
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from bot.channels.buttons import inbound_text
from bot.conversations.engine import Inbound
from bot.conversations.handoffs import is_twilio_media_url
from bot.monitoring import metrics
from bot.outbound.outbox import stop_after_carrier_opt_out
from bot.services import services
from models import Message, OutboxMessage, utcnow

log = logging.getLogger(__name__)
bp = Blueprint("twilio", __name__, url_prefix="/webhooks/twilio")

KNOWN_STATUSES = {"queued", "accepted", "scheduled", "sending", "sent", "delivered",
                  "undelivered", "failed", "read", "canceled", "receiving", "received"}


def public_url() -> str:
    """Return the URL Twilio signed: PUBLIC_URL + path when set, else the request's URL."""
    base = services().settings.public_url
    if base:
        query = request.query_string.decode()
        return f"{base}{request.path}" + (f"?{query}" if query else "")
    return request.url


def signature_required(view):
    """Reject a request whose X-Twilio-Signature is missing or wrong with 403."""

    @wraps(view)
    def checked(*args, **kwargs):
        settings = services().settings
        if settings.twilio_validate:
            signature = request.headers.get("X-Twilio-Signature", "")
            token = settings.twilio_auth_token
            if not token:
                log.error("TWILIO_AUTH_TOKEN is not set: rejecting webhook (set TWILIO_VALIDATE=0 "
                          "only for local experiments)")
                abort(403)
            # Every parameter received counts (Twilio adds new ones); repeated names too.
            params = request.form
            if not signature or not RequestValidator(token).validate(public_url(), params, signature):
                log.warning("rejected webhook with %s signature for %s",
                            "a wrong" if signature else "no", public_url())
                abort(403)
        return view(*args, **kwargs)

    return checked


TWIML_HEAD = '<?xml version="1.0" encoding="UTF-8"?><Response>'
# The characters XML text must not hold raw; the rest passes through as Twilio's own library writes it.
_XML_TEXT = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def twiml(replies: list[str]) -> Response:
    """Return the TwiML answer: one <Message> per reply (an empty <Response/> for none)."""
    if not replies:
        return Response(TWIML_HEAD[:-1] + " />", mimetype="application/xml")
    messages = "".join(f"<Message>{text.translate(_XML_TEXT)}</Message>" for text in replies)
    return Response(f"{TWIML_HEAD}{messages}</Response>", mimetype="application/xml")


MAX_MEDIA = 10  # WhatsApp sends one; MMS up to 10


def media_refs(form, num_media: int) -> tuple:
    """Return the (MediaUrlN, MediaContentTypeN) pairs of Twilio's own media URLs."""
    refs = []
    for n in range(min(num_media, MAX_MEDIA)):
        url, ctype = form.get(f"MediaUrl{n}", ""), form.get(f"MediaContentType{n}", "")
        if is_twilio_media_url(url):  # anything else is never fetched
            refs.append((url, ctype[:100]))
    return tuple(refs)


def shared_location(form) -> tuple | None:
    """Return (latitude, longitude, address, label) of a WhatsApp location, or None."""
    try:
        latitude, longitude = float(form["Latitude"]), float(form["Longitude"])
    except (KeyError, ValueError):
        return None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return None
    return latitude, longitude, form.get("Address", "")[:200], form.get("Label", "")[:200]


@bp.post("")
@signature_required
def inbound():
    form = request.form
    try:
        num_media = int(form.get("NumMedia") or 0)
    except ValueError:
        num_media = 0
    message = Inbound(address=form.get("From", ""), body=inbound_text(form),
                      sid=form.get("MessageSid") or form.get("SmsSid") or None, num_media=num_media,
                      media=media_refs(form, num_media), location=shared_location(form))
    svc = services()
    outcome = svc.engine.handle(message)
    metrics.observe_reply(outcome)
    if message.sid and (outcome.by_rest or (outcome.duplicate and _went_by_rest(svc, message.sid))):
        svc.engine.interactive.send_now(svc, message.sid)  # what is still queued; nothing twice
        return twiml([])
    return twiml(outcome.replies)


def _went_by_rest(svc, sid: str) -> bool:
    """Tell whether the replies to this (repeated) MessageSid were sent by REST."""
    with svc.db.session() as session:
        return svc.engine.interactive.has_rows(session, sid)


@bp.post("/status")
@signature_required
def status():
    sid = request.form.get("MessageSid") or request.form.get("SmsSid")
    new_status = (request.form.get("MessageStatus") or request.form.get("SmsStatus") or "").lower()
    if not sid or new_status not in KNOWN_STATUSES:
        return Response("missing MessageSid or unknown MessageStatus", status=400)
    error = request.form.get("ErrorCode")
    code = int(error) if error and error.isdigit() else None
    with services().db.session() as session:
        message = session.scalar(select(Message).where(Message.twilio_sid == sid))
        outbox = session.scalar(select(OutboxMessage).where(OutboxMessage.twilio_sid == sid))
        if message is None and outbox is None:
            log.info("status %s for unknown message %s ignored", new_status, sid)
            return Response(status=204)
        for row in (message, outbox):
            if row is not None and row.advance_status(new_status, code):
                row.updated_at = utcnow()
        if code == 21610 and outbox is not None:  # the carrier says this person sent STOP
            stop_after_carrier_opt_out(session, outbox.contact_id, utcnow())
    return Response(status=204)


"""What is stored about one contact: the short summary MIS DATOS sends, the full export."""
from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from bot.channels.phones import InvalidPhone, to_e164
from flows import support
from models import (Contact, ConversationState, HandoffRequest, Message, OutboxMessage,
                    Subscription, Survey, SurveyAnswer, SurveyParticipant)


class NoSuchContact(LookupError):
    """No contact has that number."""


def find(session: Session, phone: str) -> Contact:
    """Return the contact with this number (any spelling of it), or raise NoSuchContact."""
    try:
        e164 = to_e164(phone)
    except InvalidPhone:
        raise NoSuchContact("no such contact") from None
    contact = session.scalar(select(Contact).where(Contact.phone == e164))
    if contact is None:
        raise NoSuchContact("no such contact")
    return contact


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def describe_subscription(s: Subscription) -> str:
    """Return a subscription in a few words ("precios papa", "alertas helada junin")."""
    what = {"prices": "precios", "alerts": "alertas", "calendar": "consejos"}.get(s.kind, s.kind)
    return " ".join(p for p in (what, s.product, s.hazard, s.region) if p)


def _outside_support():
    """Return the condition "this message is not part of a conversation about violence"."""
    return ~or_(Message.redacted.is_(True), Message.flow == support.FLOW)


def summary(session: Session, contact: Contact) -> dict:
    """Return what MIS DATOS tells her: profile, point, channels, subscriptions, consent, messages.

    Nothing about a conversation about violence (a shared phone can show it).
    """
    subs = session.scalars(select(Subscription).where(
        Subscription.contact_id == contact.id, Subscription.status == "active")
        .order_by(Subscription.id)).all()
    kept = session.scalar(select(func.count()).select_from(Message).where(
        Message.contact_id == contact.id, Message.body.is_not(None), _outside_support()))
    return {"language": contact.language or "es", "region": contact.region,
            "province": contact.province, "channels": list(contact.channels or []),
            "subscriptions": [describe_subscription(s) for s in subs],
            "consent_at": contact.consent_at, "messages": kept or 0,
            "located": contact.latitude is not None}


def export(session: Session, contact: Contact) -> dict:
    """Return everything stored about the contact, as JSON-ready data (staff and CLI)."""
    subs = session.scalars(select(Subscription).where(Subscription.contact_id == contact.id)
                           .order_by(Subscription.id)).all()
    parts = session.execute(
        select(SurveyParticipant, Survey.slug).join(Survey, Survey.id == SurveyParticipant.survey_id)
        .where(SurveyParticipant.contact_id == contact.id).order_by(SurveyParticipant.id)).all()
    answers: dict[int, list] = {}
    for a in session.scalars(select(SurveyAnswer).where(
            SurveyAnswer.participant_id.in_([p.id for p, _slug in parts]))
            .order_by(SurveyAnswer.id)):
        answers.setdefault(a.participant_id, []).append(
            {"question": a.question_key, "value": a.value, "skipped": a.skipped,
             "answered_at": _iso(a.answered_at)})
    messages = session.scalars(select(Message).where(Message.contact_id == contact.id)
                               .order_by(Message.created_at, Message.id)).all()
    outbox = session.scalars(select(OutboxMessage).where(OutboxMessage.contact_id == contact.id)
                             .order_by(OutboxMessage.id)).all()
    handoffs = session.scalars(select(HandoffRequest).where(HandoffRequest.contact_id == contact.id)
                               .order_by(HandoffRequest.id)).all()
    state = session.scalar(select(ConversationState)
                           .where(ConversationState.contact_id == contact.id))
    return {
        "phone": contact.phone, "language": contact.language, "region": contact.region,
        "province": contact.province, "channels": list(contact.channels or []),
        "location": ({"latitude": contact.latitude, "longitude": contact.longitude,
                      "shared_at": _iso(contact.located_at)} if contact.latitude is not None else None),
        "profile": dict(contact.profile or {}), "created_at": _iso(contact.created_at),
        "last_inbound_at": _iso(contact.last_inbound_at),
        "consent": {"at": _iso(contact.consent_at), "channel": contact.consent_channel,
                    "text_version": contact.consent_version},
        "opted_out_at": _iso(contact.opted_out_at),
        "subscriptions": [{"kind": s.kind, "product": s.product, "hazard": s.hazard,
                           "region": s.region, "status": s.status,
                           "created_at": _iso(s.created_at)} for s in subs],
        "survey_participations": [{"survey": slug, "status": p.status, "channel": p.channel,
                                   "invited_at": _iso(p.invited_at),
                                   "answers": answers.get(p.id, [])} for p, slug in parts],
        "messages": [{"direction": m.direction, "channel": m.channel,
                      "body": None if m.redacted else m.body, "redacted": m.redacted,
                      "intent": m.intent, "flow": m.flow, "status": m.status,
                      "created_at": _iso(m.created_at)} for m in messages],
        "deliveries": [{"source": o.source, "channel": o.channel, "status": o.status,
                        "topic": o.topic, "body": None if o.private else o.body,
                        "created_at": _iso(o.created_at), "sent_at": _iso(o.sent_at),
                        "error_code": o.error_code} for o in outbox],
        "handoffs": [{"status": h.status, "urgent": h.urgent, "created_at": _iso(h.created_at),
                      "media": [m.get("content_type") for m in h.media or []]}
                     for h in handoffs],
        "conversation_state": ({"flow": state.flow, "step": state.step,
                                "expires_at": _iso(state.expires_at)} if state else None),
    }

"""Erase a contact (her right of cancellation), in the caller's one transaction.

Deleted: the contact row (number, language, region, province, channels, profile,
consent), her subscriptions, conversation state and hand-offs, the reviews of her
messages, and every body, entity and Twilio id of her messages.
Kept, with no link to her: each message's direction, channel, intent, confidence,
flow, status, segments and time (the dashboard's figures); her outbox rows, cancelled
if still queued, with their body blanked (a broadcast's delivery counts); her survey
participations' status and the answers to choice, yes/no and number questions
(aggregate results), never a free-text answer or the raw text.
If she had said STOP, a keyed hash of her number goes to the suppression list.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, cast, delete, literal, select, update
from sqlalchemy.orm import Session

from bot.privacy.suppression import suppress
from models import (AuditLog, Contact, ConversationState, HandoffRequest, Message, OutboxMessage, Review,
                    Subscription, Survey, SurveyAnswer, SurveyParticipant)

# Question types whose normalised value is one of a few options or a number, never her words.
AGGREGATE_TYPES = {"choice", "yes_no", "number"}


def erase(session: Session, contact: Contact, now: datetime, key: str, *, by: str = "sms",
          user_id: int | None = None, email: str | None = None) -> dict:
    """Erase everything that identifies the contact and audit it without her number.

    `by` says who asked: "sms" (she did, BORRAR), "cli" or "console". Return the counts.
    """
    cid, phone, stopped = contact.id, contact.phone, contact.opted_out_at is not None
    mine = select(Message.id).where(Message.contact_id == cid)
    counts = {"reviews": session.execute(delete(Review).where(Review.message_id.in_(mine))).rowcount}
    counts["messages"] = session.execute(
        update(Message).where(Message.contact_id == cid)
        .values(contact_id=None, body=None, entities={}, twilio_sid=None, error_code=None,
                updated_at=now).execution_options(synchronize_session=False)).rowcount
    counts["outbox_cancelled"] = session.execute(
        update(OutboxMessage).where(OutboxMessage.contact_id == cid,
                                    OutboxMessage.status == "queued")
        .values(status="canceled", error_message="contact erased", updated_at=now)
        .execution_options(synchronize_session=False)).rowcount
    counts["outbox"] = session.execute(
        update(OutboxMessage).where(OutboxMessage.contact_id == cid)
        .values(contact_id=None, body="", content_variables=None, twilio_sid=None,
                claimed_by=None, key=literal("erased:", String) + cast(OutboxMessage.id, String),
                updated_at=now)
        .execution_options(synchronize_session=False)).rowcount
    counts["survey_participations"] = _unlink_surveys(session, cid)
    for model in (Subscription, ConversationState, HandoffRequest):
        counts[model.__tablename__] = session.execute(
            delete(model).where(model.contact_id == cid)).rowcount
    session.execute(delete(Contact).where(Contact.id == cid))
    session.expunge(contact)
    if stopped:
        suppress(session, phone, key, now)
    counts["suppressed"] = int(stopped)
    session.add(AuditLog(user_id=user_id, email=email, action="contact_erased", target=None,
                         detail={"what": "a contact was erased", "by": by, **counts},
                         created_at=now))
    return counts


def _unlink_surveys(session: Session, cid: int) -> int:
    """Cut her survey participations loose from her; keep only answers that are counts."""
    parts = session.execute(
        select(SurveyParticipant.id, Survey.questions)
        .join(Survey, Survey.id == SurveyParticipant.survey_id)
        .where(SurveyParticipant.contact_id == cid)).all()
    for part_id, questions in parts:
        aggregate = [q["key"] for q in questions or [] if q.get("type") in AGGREGATE_TYPES]
        session.execute(delete(SurveyAnswer).where(SurveyAnswer.participant_id == part_id,
                                                   SurveyAnswer.question_key.not_in(aggregate)))
        session.execute(update(SurveyAnswer).where(SurveyAnswer.participant_id == part_id)
                        .values(raw=None))
    session.execute(update(SurveyParticipant).where(SurveyParticipant.contact_id == cid)
                    .values(contact_id=None))
    return len(parts)

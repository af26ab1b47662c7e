"""Audiences: the segment of contacts a broadcast, reminder or survey reaches, as SQL.

A segment is a dict of keys (SEGMENT_KEYS): region, province, language, the
channel they wrote on, active in the last N days, crop, subscription, an answer
given in a survey. Only consenting contacts who have not said STOP are ever in one.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import String, Text, case, cast, exists, literal, or_, select
from sqlalchemy.orm import Session

from bot.outbound.policy import reachable
from models import Contact, Subscription, Survey, SurveyAnswer, SurveyParticipant

CHANNELS = ("sms", "whatsapp")
SEGMENT_KEYS = {"region", "province", "language", "channel", "active_days", "crop", "subscription",
                "survey_answer"}  # survey_answer: {"survey": slug, "question": key, "answer": value}
SUBSCRIPTION_KINDS = ("prices", "alerts", "calendar")


class SegmentError(ValueError):
    """A segment that cannot be read or names what does not exist."""


def clean_segment(segment: dict | None, error=SegmentError) -> dict:
    """Return the segment without empty keys; raise `error` on an unknown key or subscription."""
    segment = {k: v for k, v in (segment or {}).items() if v not in (None, [], "")}
    if set(segment) - SEGMENT_KEYS:
        raise error(f"unknown segment keys {sorted(set(segment) - SEGMENT_KEYS)}")
    for kind in listed(segment.get("subscription")):
        if kind not in SUBSCRIPTION_KINDS:
            raise error(f"segment subscription must be one of {', '.join(SUBSCRIPTION_KINDS)}, "
                        f"not {kind!r}")
    return segment


def uses_channel(name: str):
    """Return the condition "this contact has written to us on channel `name`"."""
    return cast(Contact.channels, Text).like(f'%"{name}"%')  # channels: ["sms", "whatsapp"]


def segment_conditions(seg: dict, now: datetime, channel: str | None = None) -> tuple[list, object]:
    """Return the SQL conditions of a segment's audience and the channel expression per contact.

    Shared by broadcasts, reminders and surveys (bot/surveys/service.py). Opted-out and unconsented
    contacts are never in an audience.
    """

    conditions = reachable()
    for key, column in (("region", Contact.region), ("province", Contact.province),
                        ("language", Contact.language)):
        if seg.get(key):
            values = seg[key] if isinstance(seg[key], list) else [seg[key]]
            conditions.append(column.in_([v.lower() for v in values]))
    if seg.get("active_days"):
        conditions.append(Contact.last_inbound_at >= now - timedelta(days=int(seg["active_days"])))
    if seg.get("channel"):
        conditions.append(uses_channel(seg["channel"]))
    conditions += _interest_conditions(seg)
    if seg.get("survey_answer"):
        conditions.append(_answered(seg["survey_answer"]))
    if channel == "whatsapp":
        conditions.append(uses_channel("whatsapp"))  # WhatsApp reaches only those who wrote to us there
    expr = (literal(channel, String) if channel
            else case((uses_channel("whatsapp"), "whatsapp"), else_="sms"))
    return conditions, expr


def _answered(wanted: dict):
    """Return the condition "gave this answer to this survey question" (segment survey_answer)."""
    who = (select(SurveyParticipant.contact_id)
           .join(Survey, Survey.id == SurveyParticipant.survey_id)
           .join(SurveyAnswer, SurveyAnswer.participant_id == SurveyParticipant.id)
           .where(Survey.slug == wanted["survey"], SurveyAnswer.question_key == wanted["question"],
                  SurveyAnswer.value == str(wanted["answer"]).lower()))
    return Contact.id.in_(who)


def parse_survey_answer(text: str) -> dict:
    """Turn "cosecha-2026:usa_biol=no" into the survey_answer segment, or raise SegmentError."""
    survey, colon, rest = (text or "").strip().partition(":")
    question, equals, answer = rest.partition("=")
    survey, question, answer = survey.strip().lower(), question.strip().lower(), answer.strip()
    if not (colon and equals and survey and question and answer):
        raise SegmentError(f"expected SURVEY:QUESTION=ANSWER, got {text!r}")
    return {"survey": survey, "question": question, "answer": answer.lower()}


def check_survey_answer(session: Session, wanted: dict) -> None:
    """Raise SegmentError unless the survey and question exist and the answer could be given."""
    survey = session.scalar(select(Survey).where(Survey.slug == wanted["survey"]))
    if survey is None:
        raise SegmentError(f"no survey {wanted['survey']!r}")
    q = next((q for q in survey.questions if q["key"] == wanted["question"]), None)
    if q is None:
        raise SegmentError(f"survey {survey.slug} has no question {wanted['question']!r}")
    allowed = ([o["value"] for o in q["options"]] if q["type"] == "choice"
               else ["si", "no"] if q["type"] == "yes_no" else None)
    if allowed and str(wanted["answer"]).lower() not in allowed:
        raise SegmentError(f"question {q['key']} takes {', '.join(allowed)}, "
                             f"not {wanted['answer']!r}")


def listed(value) -> list[str]:
    """Return a segment value as a list of lower-case strings."""
    values = value if isinstance(value, list) else [value] if value else []
    return [str(v).strip().lower() for v in values if str(v).strip()]


def _interest_conditions(seg: dict) -> list:
    """Return the SQL conditions of the `crop` and `subscription` segment keys (any value matches)."""
    # crop: an active "prices" subscription for the product, or it in profile["crops"];
    # subscription: an active subscription of that kind.
    conditions = []
    crops = listed(seg.get("crop"))
    if crops:
        grown = cast(Contact.profile["crops"], Text)  # '["papa", "quinua"]' on both databases
        conditions.append(or_(
            exists().where(Subscription.contact_id == Contact.id, Subscription.kind == "prices",
                           Subscription.status == "active", Subscription.product.in_(crops)),
            *[grown.contains(f'"{crop}"', autoescape=True) for crop in crops]))
    kinds = listed(seg.get("subscription"))
    if kinds:
        conditions.append(exists().where(Subscription.contact_id == Contact.id,
                                         Subscription.kind.in_(kinds),
                                         Subscription.status == "active"))
    return conditions

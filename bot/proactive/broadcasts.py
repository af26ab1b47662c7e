"""Broadcasts: create, preview the cost, build outbox rows for the audience, cancel.

Building a broadcast's rows happens in the caller's transaction and every row's
key is "broadcast:<id>:<occurrence>:contact:<id>", so a crash mid-way leaves
either nothing or everything, and running it again adds nothing twice.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import JSON, Boolean, Integer, String, case, cast, func, literal, null, select
from sqlalchemy.orm import Session

from bot.clock import LIMA
from bot.outbound.outbox import cancel_queued, dialect_insert
from bot.outbound.policy import (check_topic, first_attempt_at, in_quiet_hours,
                                 inside_whatsapp_window)
from bot.proactive.audience import CHANNELS, SegmentError, clean_segment, segment_conditions
from flows.gsm7 import segment_count, to_gsm7
from models import Broadcast, Contact, OutboxMessage
from models.base import UTCDateTime

LANGUAGES = ("es", "qu", "ay")


class BroadcastError(SegmentError):
    """A broadcast that cannot be created, sent or canceled as asked."""


def cron_trigger(expr: str) -> CronTrigger:
    """Return the trigger of a crontab line in Lima time, or raise BroadcastError."""
    try:
        return CronTrigger.from_crontab(expr, timezone=LIMA)
    except ValueError as exc:
        raise BroadcastError(f"bad cron expression {expr!r}: {exc}") from None


def create(session: Session, *, name: str, texts: dict, now: datetime, segment: dict | None = None,
           channel: str | None = None, content_sid: str | None = None,
           content_variables: dict | None = None, topic: str | None = None, urgent: bool = False,
           send_at: datetime | None = None, cron: str | None = None) -> Broadcast:
    """Validate and store a draft broadcast."""
    check_topic(topic)
    texts = {lang: text.strip() for lang, text in (texts or {}).items() if text and text.strip()}
    if not texts:
        raise BroadcastError("a broadcast needs a text (e.g. --text es='...')")
    unknown = set(texts) - set(LANGUAGES) or set((segment or {}).get("language") or []) - set(LANGUAGES)
    if unknown:
        raise BroadcastError(f"unknown language {', '.join(sorted(unknown))}; known: es, qu, ay")
    segment = clean_segment(segment, BroadcastError)
    for key in ("channel",):
        if segment.get(key) and segment[key] not in CHANNELS:
            raise BroadcastError(f"segment channel must be sms or whatsapp, not {segment[key]!r}")
    answer = segment.get("survey_answer")
    if answer is not None and (not isinstance(answer, dict)
                               or not {"survey", "question", "answer"} <= set(answer)):
        raise BroadcastError("segment survey_answer needs survey, question and answer")
    if channel not in (None, *CHANNELS):
        raise BroadcastError(f"channel must be sms or whatsapp, not {channel!r}")
    if content_variables and not content_sid:
        raise BroadcastError("template variables given without a template ContentSid")
    if content_sid and not content_sid.startswith("HX"):
        raise BroadcastError(f"a Twilio ContentSid starts with HX, not {content_sid[:2]!r}")
    if send_at and cron:
        raise BroadcastError("give either a time (one-off) or a cron schedule, not both")
    if cron:
        cron_trigger(cron)
    if send_at and send_at < now - timedelta(minutes=1):
        raise BroadcastError(f"send time {send_at.astimezone(LIMA):%Y-%m-%d %H:%M} is in the past")
    broadcast = Broadcast(name=name, texts=texts, segment=segment, channel=channel,
                          content_sid=content_sid, content_variables=content_variables, topic=topic,
                          urgent=urgent, send_at=send_at, cron=cron, status="draft", created_at=now)
    session.add(broadcast)
    session.flush()
    return broadcast


def audience_filter(b: Broadcast, now: datetime) -> tuple[list, object]:
    """Return the SQL conditions of the broadcast's audience and the channel per contact."""
    return segment_conditions(b.segment or {}, now, b.channel)


def audience(session: Session, b: Broadcast, now: datetime) -> list[tuple]:
    """Return (id, phone, language, channel, last_whatsapp_inbound_at) of each recipient."""
    conditions, channel = audience_filter(b, now)
    query = (select(Contact.id, Contact.phone, Contact.language, channel,
                    Contact.last_whatsapp_inbound_at).where(*conditions).order_by(Contact.id))
    return [(cid, phone, language or "es", chan, last)
            for cid, phone, language, chan, last in session.execute(query)]


def preview(session: Session, b: Broadcast, now: datetime, settings) -> dict:
    """Return recipients, SMS segments after GSM-7 rewriting and the estimated cost."""
    people = audience(session, b, now)
    by_language: dict[str, dict] = {}
    for _cid, _phone, language, channel, last_wa in people:
        text = b.text_for(language)
        entry = by_language.setdefault(language, {
            "recipients": 0, "sms": 0, "whatsapp": 0, "whatsapp_template": 0,
            "sms_text": to_gsm7(text), "segments_per_sms": segment_count(to_gsm7(text))})
        entry["recipients"] += 1
        entry[channel] += 1
        if channel == "whatsapp" and not inside_whatsapp_window(last_wa, now):
            entry["whatsapp_template"] += 1
    sms_segments = sum(e["sms"] * e["segments_per_sms"] for e in by_language.values())
    whatsapp = sum(e["whatsapp"] for e in by_language.values())
    cost = sms_segments * settings.sms_price_per_segment + whatsapp * settings.whatsapp_price_per_message
    no_template = sum(e["whatsapp_template"] for e in by_language.values()) if not b.content_sid else 0
    return {"recipients": len(people), "sms": len(people) - whatsapp, "whatsapp": whatsapp,
            "sms_segments": sms_segments, "estimated_cost": round(cost, 2),
            "by_language": by_language, "whatsapp_outside_window_without_template": no_template,
            "quiet_hours_now": in_quiet_hours(now) and not b.urgent}


def schedule(session: Session, b: Broadcast, now: datetime) -> Broadcast:
    """Move a draft to `scheduled` at its time, its next cron time, or now."""
    if b.status != "draft":
        raise BroadcastError(f"broadcast {b.id} is {b.status}; only a draft can be sent")
    if b.cron:
        b.next_run_at = cron_trigger(b.cron).get_next_fire_time(None, now).astimezone(timezone.utc)
    else:
        b.next_run_at = b.send_at or now
    b.status = "scheduled"
    return b


def run(session: Session, b: Broadcast, now: datetime, progress=None) -> dict:
    """Write the outbox rows of the broadcast's due occurrence in one statement; return counts.

    INSERT ... SELECT from contacts, ON CONFLICT (key) DO NOTHING: the database
    builds every row itself, and a re-run of the same occurrence adds nothing.
    """
    check_topic(b.topic)
    occurrence = b.next_run_at or now
    tag = occurrence.astimezone(timezone.utc).strftime("%Y%m%dT%H%MZ") if b.cron else "once"
    conditions, channel = audience_filter(b, now)
    texts = {lang: text for lang, text in (b.texts or {}).items()}
    body = case(texts, value=Contact.language, else_=b.text_for(None)) if texts else literal("")
    when = literal(first_attempt_at(now, b.urgent), UTCDateTime())
    columns = {
        "key": literal(f"broadcast:{b.id}:{tag}:contact:", String) + cast(Contact.id, String),
        "source": literal("broadcast", String), "broadcast_id": literal(b.id, Integer),
        "contact_id": Contact.id, "channel": channel, "body": body,
        "content_sid": literal(b.content_sid, String),
        "content_variables": literal(b.content_variables, JSON) if b.content_variables else null(),
        "topic": literal(b.topic, String), "urgent": literal(bool(b.urgent), Boolean),
        "status": literal("queued", String), "attempts": literal(0, Integer),
        "next_attempt_at": when, "created_at": literal(now, UTCDateTime()),
        "updated_at": literal(now, UTCDateTime()),
    }
    insert = dialect_insert(session)
    stmt = (insert(OutboxMessage)
            .from_select(list(columns), select(*columns.values()).where(*conditions))
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(OutboxMessage.id))
    recipients = session.scalar(select(func.count()).select_from(Contact).where(*conditions))
    added = len(session.execute(stmt).all())
    if progress:
        progress(recipients)
    b.runs, b.last_run_at = b.runs + 1, now
    if b.cron:
        start = max(now, occurrence) + timedelta(seconds=1)
        b.next_run_at = cron_trigger(b.cron).get_next_fire_time(None, start).astimezone(timezone.utc)
    else:
        b.status, b.next_run_at = "done", None
    return {"recipients": recipients, "queued": added, "already_queued": recipients - added}


def get(session: Session, broadcast_id: int) -> Broadcast:
    """Return broadcast `broadcast_id`, or raise BroadcastError."""
    b = session.get(Broadcast, broadcast_id)
    if b is None:
        raise BroadcastError(f"no broadcast {broadcast_id} (see `broadcast list`)")
    return b


def newest(session: Session, limit: int = 50) -> list[Broadcast]:
    """Return the newest broadcasts first."""
    return session.scalars(select(Broadcast).order_by(Broadcast.id.desc()).limit(limit)).all()


def cancel(session: Session, b: Broadcast, now: datetime) -> dict:
    """Cancel the broadcast and whatever of it is still queued."""
    if b.status == "canceled":
        raise BroadcastError(f"broadcast {b.id} is already canceled")
    b.status, b.canceled_at, b.next_run_at = "canceled", now, None
    return {"canceled": cancel_queued(session, now, "broadcast canceled", broadcast_id=b.id)}


def send_due_broadcasts(session: Session, now: datetime) -> dict:
    """Build the outbox rows of every scheduled broadcast whose time has come."""
    query = (select(Broadcast).where(Broadcast.status == "scheduled", Broadcast.next_run_at <= now)
             .order_by(Broadcast.next_run_at))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)  # a second scheduler skips these
    counts = {"broadcasts": 0, "queued": 0, "already_queued": 0}
    for b in session.scalars(query).all():
        result = run(session, b, now)
        counts["broadcasts"] += 1
        counts["queued"] += result["queued"]
        counts["already_queued"] += result["already_queued"]
    return counts

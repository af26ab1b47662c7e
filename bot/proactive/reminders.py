"""Reminders relative to a contact's date: define, list, preview, pause, cancel, queue.

A reminder fires `days` after the date the contact gave (`profile["dates"][field]`),
once per contact and date: key "reminder:<id>:<due date>:contact:<id>". The daily
job queues what is due today or up to MAX_LATE_DAYS late (the scheduler was down);
older occurrences are skipped and counted, never sent. Console pages may call
these functions directly; each takes the caller's session and `now`.
"""
from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

from sqlalchemy import Text, cast, select
from sqlalchemy.orm import Session

from bot.clock import LIMA
from bot.outbound.outbox import cancel_queued, enqueue_many
from bot.outbound.policy import check_topic, free_text_channel
from bot.proactive import audience, broadcasts
from flows.gsm7 import segment_count, to_gsm7
from flows.records import lima_date
from models import Contact, Reminder

MAX_LATE_DAYS = 2
FIELD = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
STATUSES = ("active", "paused", "canceled")


class ReminderError(ValueError):
    """A reminder that cannot be created or changed as asked."""


def create(session: Session, *, name: str, date_field: str, days: int, texts: dict,
           now: datetime, segment: dict | None = None, topic: str | None = None) -> Reminder:
    """Validate and store an active reminder."""
    check_topic(topic)
    date_field = (date_field or "").strip().lower()
    if not FIELD.match(date_field):
        raise ReminderError(f"date field {date_field!r} must be a short lower-case name, e.g. siembra")
    if abs(days) > 366:
        raise ReminderError("days must be between -366 and 366")
    if not (name or "").strip():
        raise ReminderError("a reminder needs a --name")
    texts, segment = _texts(texts), _segment(segment)
    reminder = Reminder(name=name.strip()[:80], date_field=date_field, days=days, texts=texts,
                        segment=segment, topic=topic, status="active", created_at=now)
    session.add(reminder)
    session.flush()
    return reminder


def _texts(texts: dict | None) -> dict:
    """Return the non-empty texts, checking their languages as broadcasts do."""
    texts = {lang: text.strip() for lang, text in (texts or {}).items() if text and text.strip()}
    if not texts:
        raise ReminderError("a reminder needs a text (e.g. --text es='...')")
    unknown = set(texts) - set(broadcasts.LANGUAGES)
    if unknown:
        raise ReminderError(f"unknown language {', '.join(sorted(unknown))}; known: es, qu, ay")
    return texts


def _segment(segment: dict | None) -> dict:
    """Return the segment without empty keys, checking keys and values as broadcasts do."""
    return audience.clean_segment(segment, ReminderError)


def contact_by_phone(session: Session, phone: str) -> Contact:
    """Return the contact with this E.164 phone, or raise ReminderError."""
    contact = session.scalar(select(Contact).where(Contact.phone == phone))
    if contact is None:
        raise ReminderError(f"no contact with phone {phone}")
    return contact


def get(session: Session, reminder_id: int) -> Reminder:
    """Return reminder `reminder_id` or raise ReminderError."""
    reminder = session.get(Reminder, reminder_id)
    if reminder is None:
        raise ReminderError(f"no reminder {reminder_id} (see `reminder list`)")
    return reminder


def list_reminders(session: Session, include_canceled: bool = False) -> list[Reminder]:
    """Return reminders, newest first."""
    query = select(Reminder).order_by(Reminder.id.desc())
    if not include_canceled:
        query = query.where(Reminder.status != "canceled")
    return list(session.scalars(query))


def set_status(session: Session, reminder: Reminder, status: str, now: datetime) -> dict:
    """Pause, resume or cancel a reminder; canceling also cancels its queued rows."""
    moves = {("active", "paused"), ("paused", "active"), ("active", "canceled"),
             ("paused", "canceled")}
    if (reminder.status, status) not in moves:
        raise ReminderError(f"reminder {reminder.id} is {reminder.status}: cannot make it {status}")
    reminder.status = status
    canceled = 0
    if status == "canceled":
        reminder.canceled_at = now
        canceled = cancel_queued(session, now, "reminder canceled",
                                 key_prefix=f"reminder:{reminder.id}:")
    return {"status": status, "canceled": canceled}


def cancel(session: Session, reminder: Reminder, now: datetime) -> dict:
    """Cancel a reminder and whatever of it is still queued."""
    return set_status(session, reminder, "canceled", now)


def contact_date(contact: Contact, field: str) -> date | None:
    """Return the contact's date `field`, or None when missing or unreadable."""
    value = ((contact.profile or {}).get("dates") or {}).get(field)
    try:
        return date.fromisoformat(value) if value else None
    except (TypeError, ValueError):
        return None


def set_contact_date(session: Session, contact: Contact, field: str, day: date) -> None:
    """Store a date the contact gave (consent required), e.g. siembra = 2026-11-10."""
    if contact.consent_at is None:
        raise ReminderError("this contact has not consented: nothing about them may be stored")
    field = field.strip().lower()
    if not FIELD.match(field):
        raise ReminderError(f"date name {field!r} must be a short lower-case name, e.g. siembra")
    profile = dict(contact.profile or {})
    profile["dates"] = {**(profile.get("dates") or {}), field: day.isoformat()}
    contact.profile = profile  # a new dict: the JSON column sees the change


def _candidates(session: Session, reminder: Reminder, now: datetime) -> list[tuple]:
    """Return (contact, due date) for everyone in the segment who gave that date."""
    # The segment's SQL is the broadcasts' (audience.py: consent, opt-out, region, crop...).
    conditions, _channel = audience.segment_conditions(reminder.segment or {}, now)
    query = (select(Contact).where(
        *conditions, cast(Contact.profile, Text).contains(f'"{reminder.date_field}"', autoescape=True))
        .order_by(Contact.id))
    found = []
    for contact in session.scalars(query):
        given = contact_date(contact, reminder.date_field)
        if given is not None:
            found.append((contact, given + timedelta(days=reminder.days)))
    return found


def due_soon(session: Session, reminder: Reminder, now: datetime, days: int = 7) -> list[tuple]:
    """Return (contact, due date) for whoever the job would queue from today to `days` ahead."""
    today = lima_date(now)
    return [(contact, when) for contact, when in _candidates(session, reminder, now)
            if today - timedelta(days=MAX_LATE_DAYS) <= when <= today + timedelta(days=days)]


def preview(session: Session, reminder: Reminder, now: datetime, days: int = 7) -> dict:
    """Return who is due today and in the next `days` days: {due date: [phones, masked]}."""
    due: dict[str, list[str]] = {}
    for contact, when in due_soon(session, reminder, now, days):
        due.setdefault(when.isoformat(), []).append(f"{contact.phone[:-4]}****")
    return dict(sorted(due.items()))


def estimate(session: Session, reminder: Reminder, now: datetime, settings, days: int = 7) -> dict:
    """Return, for those due in the next `days` days, channels, SMS segments after GSM-7, cost."""
    by_language: dict[str, dict] = {}
    for contact, _when in due_soon(session, reminder, now, days):
        sms = to_gsm7(reminder.text_for(contact.language))
        entry = by_language.setdefault(contact.language or "es", {
            "recipients": 0, "sms": 0, "whatsapp": 0, "sms_text": sms,
            "segments_per_sms": segment_count(sms)})
        entry["recipients"] += 1
        entry[free_text_channel(contact, now)] += 1
    sms_segments = sum(e["sms"] * e["segments_per_sms"] for e in by_language.values())
    whatsapp = sum(e["whatsapp"] for e in by_language.values())
    cost = (sms_segments * settings.sms_price_per_segment
            + whatsapp * settings.whatsapp_price_per_message)
    return {"recipients": sum(e["recipients"] for e in by_language.values()),
            "sms": sum(e["sms"] for e in by_language.values()), "whatsapp": whatsapp,
            "sms_segments": sms_segments, "estimated_cost": round(cost, 2),
            "by_language": by_language}


def _last_chance(due: date) -> datetime:
    """Return the end of the last day (Lima) a reminder due on `due` may still be sent."""
    return datetime.combine(due + timedelta(days=MAX_LATE_DAYS + 1), time(0, 0), tzinfo=LIMA)


def send_due_reminders(session: Session, now: datetime) -> dict:
    """Queue every active reminder due today (or up to MAX_LATE_DAYS late); return counts."""
    today = lima_date(now)
    counts = {"reminders": 0, "queued": 0, "already_queued": 0, "not_yet": 0, "too_late": 0}
    for reminder in session.scalars(select(Reminder).where(Reminder.status == "active")
                                    .order_by(Reminder.id)).all():
        counts["reminders"] += 1
        check_topic(reminder.topic)
        rows = []
        for contact, when in _candidates(session, reminder, now):
            late = (today - when).days
            if late < 0:
                counts["not_yet"] += 1
            elif late > MAX_LATE_DAYS:
                counts["too_late"] += 1
            else:
                rows.append(dict(key=f"reminder:{reminder.id}:{when.isoformat()}:contact:{contact.id}",
                                 source="reminder", contact_id=contact.id,
                                 channel=free_text_channel(contact, now), not_after=_last_chance(when),
                                 body=reminder.text_for(contact.language), topic=reminder.topic))
        added = enqueue_many(session, rows, now)
        counts["queued"] += added
        counts["already_queued"] += len(rows) - added
    return counts

"""The rules every proactive message obeys, each in one place.

Whoever writes outbox rows (broadcasts, reminders, digests, alert pushes, surveys,
staff replies) and the sender that sends them ask these same functions:

* quiet hours: nothing between 21:00 and 07:00 Lima time, except red climate alerts;
* opt-out and consent: only consenting contacts who have not said STOP; a number
  erased after STOP (the suppression list, bot/privacy/suppression.py) comes back
  as a stopped contact;
* violence: nothing proactive about violence, and no message interrupts an open
  support conversation (except the counsellor's reply inside it);
* WhatsApp's 24-hour window: free text only within 24 hours of the contact's last
  message; outside it, an approved template.
"""
from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import case

from bot.clock import LIMA
from bot.privacy.suppression import is_suppressed
from flows import knowledge, support
from models import Contact, ConversationState

QUIET_START, QUIET_END = time(21, 0), time(7, 0)  # Lima time; red climate alerts excepted
VIOLENCE_TOPICS = {support.FLOW, "gbv", "gbv_support", "violence"}
# Women's rights topics (land, documents, DEMUNA): answered when asked, never sent unasked (R5).
PRIVATE_TOPICS = {"derechos"}
WHATSAPP_WINDOW = timedelta(hours=24)


# ---- quiet hours -----------------------------------------------------------
def in_quiet_hours(now: datetime) -> bool:
    """Tell whether `now` falls between 21:00 and 07:00 in Lima."""
    local = now.astimezone(LIMA).time()
    return local >= QUIET_START or local < QUIET_END


def quiet_hours_end(now: datetime) -> datetime:
    """Return the next 07:00 Lima time after `now`, in UTC (or `now` outside quiet hours)."""
    if not in_quiet_hours(now):
        return now
    local = now.astimezone(LIMA)
    day = local.date() if local.time() < QUIET_END else local.date() + timedelta(days=1)
    return datetime.combine(day, QUIET_END, tzinfo=LIMA).astimezone(now.tzinfo)


def first_attempt_at(now: datetime, urgent: bool) -> datetime:
    """Return when a new row may first be sent: now, or the end of quiet hours."""
    return now if urgent else quiet_hours_end(now)


# ---- opt-out and consent ---------------------------------------------------
def reachable() -> list:
    """Return the SQL conditions on Contact: consented and not stopped."""
    return [Contact.opted_out_at.is_(None), Contact.consent_at.is_not(None)]


def suppressed(session, phone: str, key: str) -> bool:
    """Tell whether this number was erased after saying STOP (it must stay stopped)."""
    return is_suppressed(session, phone, key)


def opted_out(contact: Contact) -> bool:
    """Tell whether the contact said STOP (and has not said ALTA since)."""
    return contact.opted_out_at is not None


# ---- violence ---------------------------------------------------------------
class RefusedTopic(ValueError):
    """Nothing proactive is ever created about violence (the support safety rules)."""


def is_violence_topic(topic: str | None) -> bool:
    """Tell whether a proactive message's topic is about violence."""
    return bool(topic) and topic.lower() in VIOLENCE_TOPICS


def check_topic(topic: str | None) -> None:
    """Refuse to create proactive messages about violence or women's rights."""
    if is_violence_topic(topic):
        raise RefusedTopic("never start a conversation about violence: no proactive messages "
                           f"on topic {topic!r}")
    if topic and (topic.lower() in PRIVATE_TOPICS or is_private_knowledge(topic)):
        raise RefusedTopic(f"women's rights are answered when asked, never sent unasked: {topic!r}")


def is_private_knowledge(topic: str) -> bool:
    """Tell whether `topic` is a knowledge-base topic or category never sent unasked."""
    kb = knowledge.knowledge_base()
    found = kb.topics.get(topic)
    return topic in knowledge.PRIVATE_CATEGORIES or bool(found and found.private)


def in_open_support(now: datetime):
    """Return the SQL condition on ConversationState: a support conversation still open."""
    return (ConversationState.flow == support.FLOW) & (ConversationState.expires_at > now)


# ---- WhatsApp's 24-hour window ----------------------------------------------
def inside_whatsapp_window(last_inbound: datetime | None, now: datetime) -> bool:
    """Tell whether free-form WhatsApp is allowed: the contact wrote within the last 24 hours."""
    return last_inbound is not None and now - last_inbound < WHATSAPP_WINDOW


def free_text_channel_sql(now: datetime):
    """Return free_text_channel as an SQL expression on Contact (for INSERT ... SELECT)."""
    from bot.proactive.audience import uses_channel  # audience imports this module

    return case((uses_channel("whatsapp") & (Contact.last_whatsapp_inbound_at > now - WHATSAPP_WINDOW),
                 "whatsapp"), else_="sms")


def free_text_channel(contact, now: datetime) -> str:
    """Return WhatsApp when the contact may get free text there now, else SMS."""
    if "whatsapp" in (contact.channels or []) and inside_whatsapp_window(
            contact.last_whatsapp_inbound_at, now):
        return "whatsapp"
    return "sms"

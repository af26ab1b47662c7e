"""How the sender sends one outbox row: free text, an interactive item, a template, SMS, or not.

The rule (policy.py holds the 24-hour window itself):

* not a WhatsApp contact, or inside her window: as the row was written ("body"); a
  reply with buttons or a list inside the window goes as its Content item ("content");
* outside the window: the row's own template (a campaign's), else the template
  configured for its source and her language (templates.py), as WhatsApp ("template");
  else by SMS when she has written by SMS before ("body" on sms);
  else the row is not sendable ("no_template"), with a reason staff can read.

Whatever is chosen is written on the row (channel, ContentSid, variables) in the
same transaction that checks it, before Twilio is called, so that recovery after a
crash looks for the right message.
"""
from __future__ import annotations

from sqlalchemy.orm import Session

from bot.outbound import templates
from bot.outbound.policy import inside_whatsapp_window
from models import Contact, OutboxMessage

REPLY_SOURCE = "reply"  # a reply to an inbound message, sent by REST (bot/channels/interactive.py)


def plan(session: Session, settings, row: OutboxMessage, contact: Contact, now) -> str:
    """Return "body", "content", "template" or "no_template" for `row`, updating the row to match."""
    channels = contact.channels or []
    whatsapp = row.channel == "whatsapp" or "whatsapp" in channels
    inside = inside_whatsapp_window(contact.last_whatsapp_inbound_at, now)
    if row.source == REPLY_SOURCE:
        if not inside:  # a reply delayed past the window: buttons are session-only
            return "no_template"
        return "content" if row.content_sid else "body"
    if not whatsapp or (inside and row.channel == "whatsapp"):
        return "body"
    if row.channel == "sms" and row.source not in templates.SOURCES:
        return "body"  # a campaign sent by SMS on purpose (its own --template is for WhatsApp)
    if inside:  # written for SMS while she was away; she is back: still as written
        return "body"
    if row.channel == "whatsapp" and row.content_sid:
        return "template"
    found = templates.find(session, settings, templates.source_of(row), contact.language)
    if found:
        row.channel, row.content_sid = "whatsapp", found[0]
        row.content_variables = templates.fill(found[1], row.body)
        return "template"
    if "sms" in channels:
        row.channel = "sms"
        return "body"
    return "no_template"


def not_sendable_reason(row: OutboxMessage, contact: Contact) -> str:
    """Return why a row cannot be sent, in Spanish (the campaign and survey pages show it)."""
    if row.source == REPLY_SOURCE:
        return "no enviable: respuesta con botones fuera de las 24 horas de WhatsApp"
    source = templates.SOURCES.get(templates.source_of(row),
                                   "campaña" if row.source == "broadcast" else row.source)
    return (f"no enviable: solo WhatsApp, fuera de las 24 horas y sin plantilla aprobada "
            f"({source}, {contact.language or 'es'}) ni SMS")

"""Approved WhatsApp templates for every proactive source, per language.

Outside WhatsApp's 24-hour window only an approved template (a ContentSid HX...
with its variables) may be sent. Each proactive source has its own, per language:

* the WHATSAPP_TEMPLATES setting, JSON
  ``{"survey": {"es": {"sid": "HX...", "variables": {"1": "{body}"}}}, ...}``
  (a bare "HX..." instead of the object means variables ``{"1": "{body}"}``);
* the console's Plantillas page (models.whatsapp.WhatsAppTemplate), which wins over
  the setting for the same source and language;
* for hand-off replies also HANDOFF_TEMPLATE_SID, the oldest setting, as Spanish.

A language without its own template uses the Spanish one. In the variables, "{body}"
is the message's own text on one line (WhatsApp refuses line breaks in variables).
How the sender chooses between template, SMS and "not sendable" is in routing.py.
"""
from __future__ import annotations

import json
import logging
import re
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import OutboxMessage, WhatsAppTemplate

log = logging.getLogger(__name__)
SETTING = "WHATSAPP_TEMPLATES"
# Source -> what the console calls it. Keys are OutboxMessage.source, except survey reminders.
SOURCES = {
    "alert": "Alertas climáticas",
    "digest": "Resumen de precios",
    "calendar": "Consejos del calendario",
    "reminder": "Recordatorios",
    "survey": "Invitaciones a encuestas",
    "survey_reminder": "Recordatorios de encuestas",
    "handoff": "Respuestas a derivaciones",
}
DEFAULT_VARIABLES = {"1": "{body}"}
CONTENT_SID = re.compile(r"^HX[0-9a-fA-F]{32}$")


class TemplateError(ValueError):
    """A template setting or form that cannot be used (said in Spanish, for the console)."""


def source_of(row: OutboxMessage) -> str:
    """Return the template source of an outbox row (a survey's reminder has its own)."""
    if row.source == "survey" and (row.key or "").endswith(":reminder"):
        return "survey_reminder"
    return row.source


def check(source: str, sid: str, variables: dict | None) -> dict:
    """Return the variables of a valid template, or raise TemplateError."""
    if source not in SOURCES:
        raise TemplateError(f"Fuente desconocida: {source!r}.")
    if not CONTENT_SID.match(sid or ""):
        raise TemplateError("El ContentSid de Twilio empieza con HX y tiene 34 caracteres.")
    variables = DEFAULT_VARIABLES if variables is None else variables
    if not isinstance(variables, dict) or not all(isinstance(v, str) for v in variables.values()):
        raise TemplateError('Las variables deben ser un objeto JSON de textos, p. ej. {"1": "{body}"}.')
    return {str(k): v for k, v in variables.items()}


def from_setting(settings) -> dict[tuple[str, str], tuple[str, dict]]:
    """Return {(source, language): (sid, variables)} from WHATSAPP_TEMPLATES (and the hand-off one)."""
    raw = settings.whatsapp_templates
    if not isinstance(raw, str):  # an override given as data (tests)
        raw = json.dumps(raw) if raw else ""
    return dict(_parsed(raw, settings.handoff_template_sid))


@lru_cache(maxsize=8)
def _parsed(raw: str, handoff_sid: str | None) -> dict[tuple[str, str], tuple[str, dict]]:
    """Parse the setting once per value: the sender asks for every row outside the window."""
    found: dict[tuple[str, str], tuple[str, dict]] = {}
    if handoff_sid:
        found[("handoff", "es")] = (handoff_sid, {})
    if not raw:
        return found
    try:
        parsed = json.loads(raw)
        for source, languages in parsed.items():
            for language, value in languages.items():
                sid, variables = (value, None) if isinstance(value, str) else (
                    value.get("sid"), value.get("variables"))
                found[(source, language)] = (sid, check(source, sid, variables))
    except (ValueError, AttributeError, TemplateError) as exc:
        log.error("%s cannot be read, ignored: %s", SETTING, exc)
        return {k: v for k, v in found.items() if k == ("handoff", "es")}
    return found


def configured(session: Session, settings) -> dict[tuple[str, str], tuple[str, dict]]:
    """Return every template: the setting's, overridden by those saved in the console."""
    found = from_setting(settings)
    for row in session.scalars(select(WhatsAppTemplate)):
        found[(row.source, row.language)] = (row.content_sid, dict(row.variables or {}))
    return found


def find(session: Session, settings, source: str, language: str | None) -> tuple[str, dict] | None:
    """Return (ContentSid, variables) for `source` in `language` (else Spanish), or None.

    With `settings` None only the templates saved in the console count.
    """
    wanted = [language or "es", "es"]
    rows = {r.language: r for r in session.scalars(
        select(WhatsAppTemplate).where(WhatsAppTemplate.source == source,
                                       WhatsAppTemplate.language.in_(wanted)))}
    from_env = None
    for lang in wanted:
        if lang in rows:
            return rows[lang].content_sid, dict(rows[lang].variables or {})
        from_env = from_env if from_env is not None else (
            from_setting(settings) if settings is not None else {})
        if (source, lang) in from_env:
            return from_env[(source, lang)]
    return None


def fill(variables: dict, body: str) -> dict:
    """Return the template's variables with "{body}" replaced by the text on one line."""
    one_line = " ".join((body or "").split())
    return {k: v.replace("{body}", one_line) for k, v in variables.items()}


def save(session: Session, source: str, language: str, sid: str, variables: dict | None,
         user_email: str | None, now) -> WhatsAppTemplate:
    """Save (or replace) the template of `source` in `language`, checked."""
    variables = check(source, sid.strip(), variables)
    row = session.scalar(select(WhatsAppTemplate).filter_by(source=source, language=language))
    if row is None:
        row = WhatsAppTemplate(source=source, language=language)
        session.add(row)
    row.content_sid, row.variables = sid.strip(), variables
    row.updated_by, row.updated_at = user_email, now
    return row

"""Plantillas de WhatsApp: the approved template of each proactive source, per language.

Shows, for each source, which languages have a template (from the WHATSAPP_TEMPLATES
setting or saved here) and how many WhatsApp-only contacts a missing one leaves out
when they are outside the 24-hour window; saves a template for a source and language.
"""
from __future__ import annotations

import json

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from bot.channels import content
from bot.console import bp
from bot.console.access import audit, page
from bot.console.forms import LANGUAGE_NAMES
from bot.outbound import templates
from bot.outbound.policy import reachable
from bot.proactive.audience import uses_channel
from bot.services import services
from flows.catalog import LANGUAGES
from models import Contact, WhatsAppTemplate, utcnow


def whatsapp_only_by_language(session) -> dict[str, int]:
    """Return {language: reachable contacts who wrote only by WhatsApp}."""
    rows = session.execute(select(Contact.language, func.count())
                           .where(*reachable(), uses_channel("whatsapp"), ~uses_channel("sms"))
                           .group_by(Contact.language)).all()
    return {(lang or "es"): n for lang, n in rows}


def coverage(session, settings, only: dict[str, int]) -> list[dict]:
    """Return one line per source: its template per language and how many of `only` it leaves out."""
    found = templates.configured(session, settings)
    saved = {(r.source, r.language) for r in session.scalars(select(WhatsAppTemplate))}
    lines = []
    for source, name in templates.SOURCES.items():
        cells, left_out = {}, 0
        for lang in LANGUAGES:
            own = found.get((source, lang))
            used = own or found.get((source, "es"))  # a language without its own uses Spanish
            cells[lang] = {"sid": own[0] if own else None, "variables": own[1] if own else None,
                           "fallback": not own and bool(used),
                           "where": "consola" if (source, lang) in saved else "ajuste"}
            if not used:
                left_out += only.get(lang, 0)
        left_out += sum(n for lang, n in only.items() if lang not in LANGUAGES
                        and not found.get((source, "es")))
        lines.append({"source": source, "name": name, "cells": cells, "left_out": left_out,
                      "missing": [lang for lang in LANGUAGES if not cells[lang]["sid"]]})
    return lines


@bp.get("/plantillas")
@page("whatsapp_templates")
def whatsapp_templates():
    """Show every proactive source's WhatsApp template and who a missing one leaves out."""
    svc = services()
    with svc.db.session() as session:
        by_language = whatsapp_only_by_language(session)
        lines = coverage(session, svc.settings, by_language)
        only = sum(by_language.values())
    return render_template("console/whatsapp_templates.html", lines=lines, languages=LANGUAGES,
                           language_names=LANGUAGE_NAMES, sources=templates.SOURCES,
                           whatsapp_only=only, setting=templates.SETTING)


@bp.post("/plantillas")
@page("whatsapp_templates")
def whatsapp_templates_save():
    """Save the template of one source in one language."""
    form = request.form
    source, language = form.get("source", ""), form.get("language", "")
    raw = (form.get("variables") or "").strip()
    try:
        if language not in LANGUAGES:
            raise templates.TemplateError("Idioma desconocido.")
        try:
            variables = json.loads(raw) if raw else None
        except ValueError:
            raise templates.TemplateError('Las variables deben ser JSON, p. ej. {"1": "{body}"}.') \
                from None
        sid = (form.get("content_sid") or "").strip()
        warning = _check_at_twilio(sid)
        with services().db.session() as session:
            row = templates.save(session, source, language, form.get("content_sid", ""), variables,
                                 current_user.email, utcnow())
            sid = row.content_sid
    except templates.TemplateError as exc:
        flash(f"No se guardó la plantilla: {exc}", "error")
        return redirect(url_for("console.whatsapp_templates"))
    audit("whatsapp_template_save", target=f"template:{source}:{language}", content_sid=sid)
    flash(f"Plantilla guardada: {templates.SOURCES[source]} ({LANGUAGE_NAMES.get(language, language)})."
          + (f" {warning}" if warning else ""))
    return redirect(url_for("console.whatsapp_templates"))


def _check_at_twilio(sid: str) -> str | None:
    """Refuse a ContentSid Twilio does not know; return a warning when it cannot be checked."""
    if not templates.CONTENT_SID.match(sid):
        return None  # templates.save says what is wrong with it
    try:
        content.fetch(services().twilio, sid)
    except content.ContentError as exc:
        if exc.status == 404:
            raise templates.TemplateError(f"Twilio no conoce la plantilla {sid} en esta cuenta.") \
                from None
        return "No se pudo comprobar en Twilio; revisa que esté aprobada."
    return None

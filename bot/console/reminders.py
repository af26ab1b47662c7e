"""Reminders relative to a contact's date: list, create, preview (who, segments, cost), pause, cancel."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from bot.console import bp, get_or_404
from bot.console.access import audit, page
from bot.console.forms import (LANGUAGE_NAMES, FormError, describe_segment, parse_segment,
                               segment_fields, text_previews)
from bot.proactive import reminders
from bot.services import services
from models import Reminder, Survey, utcnow

STATUS_NAMES = {"active": "activo", "paused": "en pausa", "canceled": "cancelado"}
# Console action -> reminder status it moves to, and the audit action.
ACTIONS = {"pausar": ("paused", "reminder_pause"), "reanudar": ("active", "reminder_resume"),
           "cancelar": ("canceled", "reminder_cancel")}
MAX_PREVIEW_DAYS = 60


def parse_form(form) -> dict:
    """Return the keyword arguments of reminders.create from the form, or raise FormError."""
    name = (form.get("name") or "").strip()
    if not name:
        raise FormError("Escribe un nombre para el recordatorio.")
    if len(name) > 80:
        raise FormError("El nombre no puede pasar de 80 caracteres.")
    date_field = (form.get("date_field") or "").strip().lower()
    if not reminders.FIELD.match(date_field):
        raise FormError("La fecha del contacto es un nombre corto en minúsculas, sin espacios, "
                        "p. ej. siembra.")
    raw_days = (form.get("days") or "").strip()
    try:
        days = int(raw_days)
    except ValueError:
        raise FormError("Los días deben ser un número entero (negativo: antes de la fecha).") \
            from None
    if abs(days) > 366:
        raise FormError("Los días deben estar entre -366 y 366.")
    texts = {lang: (form.get(f"text_{lang}") or "").strip() for lang in LANGUAGE_NAMES}
    texts = {lang: text for lang, text in texts.items() if text}
    if not texts:
        raise FormError("Escribe el mensaje al menos en un idioma (castellano recomendado).")
    topic = (form.get("topic") or "").strip().lower() or None
    if topic and "violen" in topic:
        raise FormError("Nunca se envían mensajes proactivos sobre violencia: elige otro tema.")
    return {"name": name, "date_field": date_field, "days": days, "texts": texts,
            "segment": parse_segment(form), "topic": topic}


def _known_dates(session) -> list[str]:
    """Return the date names surveys save (save_as) and reminders already use."""
    names = {r for r in session.scalars(select(Reminder.date_field))}
    for questions in session.scalars(select(Survey.questions)):
        names.update(q["save_as"] for q in questions or [] if q.get("save_as"))
    return sorted(names)


@bp.get("/recordatorios")
@page("reminders")
def reminders_list():
    """List reminders (canceled ones too), with how many are due in the next 7 days."""
    now = utcnow()
    with services().db.session() as session:
        items = reminders.list_reminders(session, include_canceled=True)
        due = {r.id: len(reminders.due_soon(session, r, now, 7)) if r.status == "active" else None
               for r in items}
    return render_template("console/reminders.html", items=items, due=due, names=STATUS_NAMES,
                           describe=describe_segment)


@bp.route("/recordatorios/nuevo", methods=["GET", "POST"])
@page("reminders")
def reminder_new():
    """Show the form; preview the texts as SMS, or create the reminder and go to its preview."""
    form = request.form if request.method == "POST" else {}
    error, previews = None, {}
    if request.method == "POST" and request.form.get("action") == "texts":
        previews = text_previews(form)
    elif request.method == "POST":
        try:
            fields = parse_form(form)
            with services().db.session() as session:
                reminder_id = reminders.create(session, now=utcnow(), **fields).id
        except FormError as exc:
            error = str(exc)
        except ValueError as exc:  # ReminderError, RefusedTopic
            error = f"No se pudo crear el recordatorio: {exc}."
        else:
            audit("reminder_create", target=f"reminder:{reminder_id}", name=fields["name"],
                  date_field=fields["date_field"], days=fields["days"], segment=fields["segment"])
            flash("Recordatorio creado y activo: el trabajo diario (08:15) lo envía a quien le toque.")
            return redirect(url_for("console.reminder_preview", reminder_id=reminder_id))
        previews = text_previews(form)
    with services().db.session() as session:
        known = _known_dates(session)
    return render_template("console/reminder_new.html", form=form, error=error, previews=previews,
                           fields=segment_fields(), languages=LANGUAGE_NAMES,
                           known_dates=known), (400 if error else 200)


@bp.get("/recordatorios/<int:reminder_id>")
@page("reminders")
def reminder_preview(reminder_id: int):
    """Show who is due in the next N days, per day; SMS segments after GSM-7; estimated cost."""
    days = request.args.get("dias", "7")
    days = min(max(int(days), 0), MAX_PREVIEW_DAYS) if days.isdigit() else 7
    now = utcnow()
    with services().db.session() as session:
        r = get_or_404(session, Reminder, reminder_id)
        per_day = reminders.preview(session, r, now, days)
        cost = reminders.estimate(session, r, now, services().settings, days)
    return render_template("console/reminder_preview.html", r=r, per_day=per_day, cost=cost,
                           days=days, names=STATUS_NAMES, languages=LANGUAGE_NAMES,
                           audience=describe_segment(r.segment))


@bp.post("/recordatorios/<int:reminder_id>/<action>")
@page("reminders")
def reminder_action(reminder_id: int, action: str):
    """Pause, resume or cancel a reminder (canceling also cancels its queued messages)."""
    if action not in ACTIONS:
        abort(404)
    status, audit_action = ACTIONS[action]
    try:
        with services().db.session() as session:
            reminder = get_or_404(session, Reminder, reminder_id)
            result = reminders.set_status(session, reminder, status, utcnow())
    except reminders.ReminderError:
        flash(f"No se puede {action} un recordatorio en este estado.", "error")
        return redirect(url_for("console.reminder_preview", reminder_id=reminder_id))
    audit(audit_action, target=f"reminder:{reminder_id}", **result)
    flash({"paused": "Recordatorio en pausa: no se enviará hasta reanudarlo.",
           "active": "Recordatorio reanudado.",
           "canceled": f"Recordatorio cancelado; {result['canceled']} mensajes en cola cancelados."}
          [status])
    return redirect(url_for("console.reminder_preview", reminder_id=reminder_id))

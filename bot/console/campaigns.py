"""Campaigns: create, preview, schedule and cancel broadcasts; delivery counts; CSV exports."""
from __future__ import annotations

import json

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import func, select

from bot.channels.phones import mask
from bot.clock import LIMA
from bot.console import bp, get_or_404
from bot.console.access import audit, page
from bot.console.charts import hbars
from bot.console.csvout import csv_response
from bot.console.forms import (LANGUAGE_NAMES, FormError, describe_segment, lima_datetime,
                               parse_segment, segment_fields, text_previews)
from bot.outbound.outbox import STATUSES, counts
from bot.outbound.policy import in_quiet_hours
from bot.proactive import audience, broadcasts
from bot.services import services
from models import Broadcast, Contact, OutboxMessage, utcnow

STATUS_NAMES = {"queued": "en cola", "sending": "enviando", "sent": "enviado",
                "delivered": "entregado", "read": "leído", "undelivered": "no entregado",
                "failed": "fallido", "canceled": "cancelado"}
BROADCAST_STATUS_NAMES = {"draft": "borrador", "scheduled": "programada", "done": "enviada",
                          "canceled": "cancelada"}


def parse_form(form) -> dict:
    """Return the keyword arguments of broadcasts.create from the form, or raise FormError."""
    name = (form.get("name") or "").strip()
    if not name:
        raise FormError("Escribe un nombre para la campaña.")
    if len(name) > 80:
        raise FormError("El nombre no puede pasar de 80 caracteres.")
    texts = {lang: (form.get(f"text_{lang}") or "").strip() for lang in broadcasts.LANGUAGES}
    texts = {lang: text for lang, text in texts.items() if text}
    if not texts:
        raise FormError("Escribe el mensaje al menos en un idioma (castellano recomendado).")
    channel = form.get("channel") or None
    if channel not in (None, *audience.CHANNELS):
        raise FormError("El canal de envío debe ser SMS o WhatsApp.")
    content_sid = (form.get("content_sid") or "").strip() or None
    if content_sid and not content_sid.startswith("HX"):
        raise FormError("La plantilla de WhatsApp es un ContentSid de Twilio: empieza con HX.")
    variables = None
    raw_vars = (form.get("content_variables") or "").strip()
    if raw_vars:
        try:
            variables = json.loads(raw_vars)
        except ValueError:
            raise FormError('Las variables de la plantilla deben ser JSON, p. ej. {"1": "Junín"}.') \
                from None
        if not isinstance(variables, dict):
            raise FormError('Las variables de la plantilla deben ser un objeto JSON: {"1": "..."}.')
        variables = {str(k): str(v) for k, v in variables.items()}
        if not content_sid:
            raise FormError("Hay variables de plantilla pero falta la plantilla (ContentSid HX...).")
    topic = (form.get("topic") or "").strip().lower() or None
    if topic and "violen" in topic:
        raise FormError("Nunca se envían mensajes proactivos sobre violencia: elige otro tema.")
    when = form.get("when") or "now"
    send_at = lima_datetime(form.get("send_at") or "") if when == "at" else None
    cron = (form.get("cron") or "").strip() if when == "cron" else None
    if when == "cron" and not cron:
        raise FormError("Escribe la programación periódica (cron), p. ej. 0 8 * * 1.")
    if cron:
        try:
            broadcasts.cron_trigger(cron)
        except broadcasts.BroadcastError:
            raise FormError(f"La programación «{cron}» no es un cron válido: cinco campos, "
                            "minuto hora día mes día-de-semana, p. ej. 0 8 * * 1.") from None
    return {"name": name, "texts": texts, "segment": parse_segment(form), "channel": channel,
            "content_sid": content_sid, "content_variables": variables,
            "topic": topic,
            "urgent": form.get("urgent") == "1", "send_at": send_at, "cron": cron}


def _spanish(exc: Exception) -> str:
    """Return a BroadcastError's message in Spanish where it is a known one."""
    text = str(exc)
    if "in the past" in text:
        return "La fecha y hora de envío ya pasó: elige una futura (hora de Lima)."
    if "already canceled" in text:
        return "La campaña ya estaba cancelada."
    if "only a draft" in text:
        return "Solo un borrador se puede programar; esta campaña ya no lo es."
    return f"No se pudo: {text}."


def _counts_by_broadcast(session, ids: list[int]) -> dict[int, dict]:
    """Return {broadcast id: {status: count}} in one query."""
    found: dict[int, dict] = {i: dict.fromkeys(STATUSES, 0) for i in ids}
    if ids:
        query = (select(OutboxMessage.broadcast_id, OutboxMessage.status, func.count())
                 .where(OutboxMessage.broadcast_id.in_(ids))
                 .group_by(OutboxMessage.broadcast_id, OutboxMessage.status))
        for b_id, status, n in session.execute(query):
            found[b_id][status] = n
    return found


def _schedule_text(b: Broadcast) -> str:
    if b.cron:
        return f"periódica: {b.cron}"
    if b.send_at:
        return b.send_at.astimezone(LIMA).strftime("%d/%m/%Y %H:%M")
    return "al programar"


@bp.get("/campanas")
@page("campaigns")
def campaigns():
    """List broadcasts, newest first, with their delivery counts per status."""
    with services().db.session() as session:
        items = session.scalars(select(Broadcast).order_by(Broadcast.id.desc()).limit(200)).all()
        per = _counts_by_broadcast(session, [b.id for b in items])
    return render_template("console/campaigns.html", items=items, per=per, statuses=STATUSES,
                           status_names=STATUS_NAMES, names=BROADCAST_STATUS_NAMES,
                           schedule_text=_schedule_text)


@bp.get("/campanas.csv")
@page("campaigns")
def campaigns_csv():
    """Download the list of broadcasts with their delivery counts as CSV."""
    with services().db.session() as session:
        items = session.scalars(select(Broadcast).order_by(Broadcast.id)).all()
        per = _counts_by_broadcast(session, [b.id for b in items])
    audit("campaigns_export", target="campaigns", rows=len(items))
    header = ["id", "nombre", "estado", "canal", "tema", "alerta_roja", "programacion",
              "proxima_ejecucion_lima", "ejecuciones", "ultima_ejecucion_lima", "creada_lima",
              *STATUSES]
    lima = lambda v: v.astimezone(LIMA).strftime("%Y-%m-%d %H:%M") if v else ""  # noqa: E731
    rows = ([b.id, b.name, b.status, b.channel or "auto", b.topic or "", int(bool(b.urgent)),
             b.cron or (lima(b.send_at) if b.send_at else ""), lima(b.next_run_at), b.runs,
             lima(b.last_run_at), lima(b.created_at), *(per[b.id][s] for s in STATUSES)]
            for b in items)
    return csv_response("campanas.csv", header, rows)


@bp.route("/campanas/nueva", methods=["GET", "POST"])
@page("campaigns")
def campaign_new():
    """Show the form; preview the texts as SMS, or create a draft and go to its preview."""
    form = request.form if request.method == "POST" else {}
    error, previews = None, {}
    if request.method == "POST" and request.form.get("action") == "texts":
        previews = text_previews(form)
    elif request.method == "POST":
        try:
            fields = parse_form(form)
            with services().db.session() as session:
                b = broadcasts.create(session, now=utcnow(), **fields)
                broadcast_id = b.id
        except FormError as exc:
            error = str(exc)
        except broadcasts.BroadcastError as exc:
            error = _spanish(exc)
        except ValueError as exc:  # RefusedTopic: nothing proactive about violence
            error = f"Tema no permitido: nunca se envían mensajes proactivos sobre violencia ({exc})."
        else:
            audit("broadcast_create", target=f"broadcast:{broadcast_id}", name=fields["name"],
                  segment=fields["segment"], channel=fields["channel"], urgent=fields["urgent"])
            flash("Campaña creada como borrador. Revisa la vista previa antes de programarla.")
            return redirect(url_for("console.campaign_preview", broadcast_id=broadcast_id))
        previews = text_previews(form)
    return render_template("console/campaign_new.html", form=form, error=error, previews=previews,
                           fields=segment_fields(), languages=LANGUAGE_NAMES,
                           channels=audience.CHANNELS), (400 if error else 200)


@bp.get("/campanas/<int:broadcast_id>/vista-previa")
@page("campaigns")
def campaign_preview(broadcast_id: int):
    """Show recipients, SMS vs WhatsApp, segments after GSM-7, cost and warnings."""
    now = utcnow()
    with services().db.session() as session:
        b = get_or_404(session, Broadcast, broadcast_id)
        p = broadcasts.preview(session, b, now, services().settings)
    first = b.send_at or (broadcasts.cron_trigger(b.cron).get_next_fire_time(None, now)
                          if b.cron else None)
    quiet_at_send = bool(first and not b.urgent and in_quiet_hours(first))
    return render_template("console/campaign_preview.html", b=b, p=p, languages=LANGUAGE_NAMES,
                           audience=describe_segment(b.segment),
                           names=BROADCAST_STATUS_NAMES, schedule_text=_schedule_text(b),
                           quiet_at_send=quiet_at_send)


@bp.get("/campanas/<int:broadcast_id>")
@page("campaigns")
def campaign_detail(broadcast_id: int):
    """Show one broadcast and its delivery counts per status as a bar chart."""
    with services().db.session() as session:
        b = get_or_404(session, Broadcast, broadcast_id)
        found = counts(session, broadcast_id)
        reasons = session.execute(
            select(OutboxMessage.error_message, func.count())
            .where(OutboxMessage.broadcast_id == broadcast_id,
                   OutboxMessage.status.in_(["failed", "canceled"]),
                   OutboxMessage.error_message.is_not(None))
            .group_by(OutboxMessage.error_message).order_by(func.count().desc())).all()
    bars = hbars([(STATUS_NAMES.get(s, s), found.get(s, 0)) for s in STATUSES])
    return render_template("console/campaign_detail.html", b=b, counts=found, bars=bars,
                           statuses=STATUSES, status_names=STATUS_NAMES, languages=LANGUAGE_NAMES,
                           names=BROADCAST_STATUS_NAMES, schedule_text=_schedule_text(b),
                           total=sum(found.values()), reasons=reasons)


@bp.post("/campanas/<int:broadcast_id>/<action>")
@page("campaigns")
def campaign_action(broadcast_id: int, action: str):
    """Schedule a draft ("programar") or cancel a broadcast and its queued messages ("cancelar")."""
    if action not in ("programar", "cancelar"):
        abort(404)
    now = utcnow()
    try:
        with services().db.session() as session:
            b = get_or_404(session, Broadcast, broadcast_id)
            if action == "programar":
                broadcasts.schedule(session, b, now)
                result = {"next_run_at": b.next_run_at.isoformat()}
                message = ("Envío programado para el "
                           f"{b.next_run_at.astimezone(LIMA):%d/%m/%Y %H:%M} (Lima).")
            else:
                result = broadcasts.cancel(session, b, now)
                message = f"Campaña cancelada; {result['canceled']} mensajes en cola cancelados."
    except broadcasts.BroadcastError as exc:
        flash(_spanish(exc), "error")
        return redirect(url_for("console.campaign_detail", broadcast_id=broadcast_id))
    audit(f"broadcast_{'schedule' if action == 'programar' else 'cancel'}",
          target=f"broadcast:{broadcast_id}", **result)
    flash(message)
    return redirect(url_for("console.campaign_detail", broadcast_id=broadcast_id))


@bp.get("/campanas/<int:broadcast_id>/envios.csv")
@page("campaigns")
def campaign_csv(broadcast_id: int):
    """Download one broadcast's outbox rows (status, channel, segments, errors; masked phones)."""
    with services().db.session() as session:
        get_or_404(session, Broadcast, broadcast_id)
        found = session.execute(
            select(OutboxMessage.id, Contact.phone, Contact.language, OutboxMessage.channel,
                   OutboxMessage.status, OutboxMessage.sent_as, OutboxMessage.segments,
                   OutboxMessage.error_code, OutboxMessage.error_message, OutboxMessage.sent_at,
                   OutboxMessage.updated_at)
            .join(Contact, Contact.id == OutboxMessage.contact_id)
            .where(OutboxMessage.broadcast_id == broadcast_id).order_by(OutboxMessage.id)).all()
    audit("campaign_export", target=f"broadcast:{broadcast_id}", rows=len(found))
    lima = lambda v: v.astimezone(LIMA).strftime("%Y-%m-%d %H:%M:%S") if v else ""  # noqa: E731
    header = ["outbox_id", "telefono", "idioma", "canal", "estado", "enviado_como", "segmentos",
              "codigo_error", "error", "enviado_lima", "actualizado_lima"]
    rows = ([r.id, mask(r.phone), r.language, r.channel, r.status, r.sent_as or "",
             r.segments if r.segments is not None else "", r.error_code or "",
             r.error_message or "", lima(r.sent_at), lima(r.updated_at)] for r in found)
    return csv_response(f"campana-{broadcast_id}-envios.csv", header, rows)

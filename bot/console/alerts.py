"""Alertas: current, pending and expired alerts with their reach; approve, hold, cancel;
a CAP file upload; the feeds and their last poll; a map of the highest level per department."""
from __future__ import annotations

import tempfile
from pathlib import Path

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from bot.console import bp, get_or_404
from bot.console.access import audit, page
from bot.console.geo import department_map
from bot.knowledge import review
from bot.knowledge.alerts import AlertFileError, import_alerts
from bot.knowledge.feeds import FeedError, add_feed, feed_health
from bot.services import services
from flows.places import REGION_NAMES
from models import Alert, AlertFeed, utcnow

MAX_UPLOAD = 2_000_000  # bytes: a CAP file or a feed of them
LEVEL_NAMES = {"rojo": "Rojo", "naranja": "Naranja", "amarillo": "Amarillo", None: "sin nivel"}
REVIEW_NAMES = {"none": "enviado al importar", "pending": "pendiente", "approved": "aprobado",
                "held": "retenido"}


def _row(session, alert: Alert, feeds: dict, reach: dict) -> dict:
    """Return what the page shows of one alert."""
    info = alert.infos[0] if alert.infos else None
    regions = sorted({r for i in alert.infos for a in i.areas for r in a.regions or []})
    return {"alert": alert, "level": info.level if info else None, "event": info.event if info else "",
            "hazards": sorted({h for i in alert.infos for h in i.hazards or []}),
            "regions": [REGION_NAMES.get(r, r) for r in regions],
            "starts": min((i.onset or i.effective or alert.sent for i in alert.infos), default=alert.sent),
            "ends": max((i.ends_at for i in alert.infos), default=alert.sent),
            "source": (info.sender_name if info and info.sender_name else alert.sender),
            "feed": feeds.get(alert.feed_id), "reach": reach}


@bp.get("/alertas")
@page("alerts")
def alerts_page():
    """Show pending, current and expired alerts, the feeds, the upload form and the map."""
    svc, now = services(), utcnow()
    with svc.db.session() as session:
        groups = review.alerts_by_group(session, now, limit=50)
        feeds = {f.id: f.name for f in session.query(AlertFeed)}
        rows = {}
        for name, items in groups.items():
            rows[name] = []
            for alert in items:
                if name == "pending":
                    reach = review.preview(svc.db, alert.id, now)
                else:
                    reach = review.pushed_counts(session, alert)
                rows[name].append(_row(session, alert, feeds, reach))
        levels = review.highest_levels(session, now)
        health = feed_health(session)
    return render_template("console/alerts.html", rows=rows, levels=levels, map=department_map(levels),
                           regions=REGION_NAMES, level_names=LEVEL_NAMES, review_names=REVIEW_NAMES,
                           feeds=health, max_upload=MAX_UPLOAD)


def _act(alert_id: int, action: str):
    svc, now = services(), utcnow()
    try:
        with svc.db.session() as session:
            alert = get_or_404(session, Alert, alert_id)
            identifier = alert.identifier
            if action == "approve":
                n = review.approve(session, alert, now)
                message = f"Aviso {identifier} aprobado: {n} mensajes en cola."
            elif action == "hold":
                review.hold(session, alert)
                n, message = 0, f"Aviso {identifier} retenido: no se envía ni se responde."
            else:
                n = review.cancel(session, alert, now)
                message = f"Aviso {identifier} cancelado: {n} personas que ya lo recibieron serán avisadas."
    except review.ReviewError as exc:
        flash(f"No se pudo: {exc}", "error")
        return redirect(url_for("console.alerts_page"))
    audit(f"alert_{action}", target=identifier, queued=n)
    flash(message, "ok")
    return redirect(url_for("console.alerts_page"))


@bp.post("/alertas/<int:alert_id>/aprobar")
@page("alerts")
def alert_approve(alert_id: int):
    """Approve a pending or held alert: its pushes are queued now."""
    return _act(alert_id, "approve")


@bp.post("/alertas/<int:alert_id>/retener")
@page("alerts")
def alert_hold(alert_id: int):
    """Hold a pending alert."""
    return _act(alert_id, "hold")


@bp.post("/alertas/<int:alert_id>/cancelar")
@page("alerts")
def alert_cancel(alert_id: int):
    """Cancel a current alert; those already sent it are told it no longer holds."""
    return _act(alert_id, "cancel")


@bp.post("/alertas/subir")
@page("alerts")
def alert_upload():
    """Import an uploaded CAP file (or a feed file of alerts): the same report as import-alerts."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash("Elige un archivo CAP (.xml) para subir.", "error")
        return redirect(url_for("console.alerts_page"))
    raw = upload.stream.read(MAX_UPLOAD + 1)
    name = Path(upload.filename).name[:200]
    if len(raw) > MAX_UPLOAD:
        flash(f"{name}: el archivo pasa de {MAX_UPLOAD // 1_000_000} MB; no se importó nada.", "error")
        audit("alert_upload_refused", target=name, reason="too large")
        return redirect(url_for("console.alerts_page"))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / (name or "upload.xml")
        path.write_bytes(raw)
        try:
            with services().db.session() as session:
                result = import_alerts(session, path, utcnow())
        except AlertFileError as exc:
            flash(f"No se importó nada: {str(exc).replace(str(path), name)}", "error")
            audit("alert_upload_refused", target=name, reason=str(exc).replace(str(path), name)[:300])
            return redirect(url_for("console.alerts_page"))
    flash(f"{name}: {result.summary()}", "ok")
    audit("alert_upload", target=name, imported=result.imported, unchanged=result.unchanged,
          pushes=result.pushes, pending=result.pending)
    return redirect(url_for("console.alerts_page"))


@bp.post("/alertas/fuentes")
@page("alerts")
def feed_add():
    """Add a CAP feed (admin)."""
    if current_user.role != "admin":
        abort(403)
    url, name = (request.form.get("url") or "").strip(), (request.form.get("name") or "").strip()
    mode = request.form.get("mode") or "auto"
    try:
        with services().db.session() as session:
            feed = add_feed(session, url, name or None, mode)
            feed_id = feed.id
    except FeedError as exc:
        flash(f"No se agregó la fuente: {exc}", "error")
        return redirect(url_for("console.alerts_page"))
    audit("feed_add", target=url, feed=feed_id, mode=mode)
    flash(f"Fuente agregada ({mode}): {url}", "ok")
    return redirect(url_for("console.alerts_page"))


@bp.post("/alertas/fuentes/<int:feed_id>/quitar")
@page("alerts")
def feed_remove(feed_id: int):
    """Remove a CAP feed (admin); its alerts stay."""
    if current_user.role != "admin":
        abort(403)
    with services().db.session() as session:
        feed = get_or_404(session, AlertFeed, feed_id)
        url = feed.url
        session.delete(feed)
    audit("feed_remove", target=url, feed=feed_id)
    flash(f"Fuente quitada: {url}", "ok")
    return redirect(url_for("console.alerts_page"))

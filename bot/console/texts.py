"""Textos: every reply text and topic answer in es/qu/ay, edited in place by translators.

Saved texts override the YAML in every web worker at the next message (a version
counter). Editing clears the native-speaker tick; every change is audited.
"""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from bot.console import bp
from bot.console.access import audit, page
from bot.console.csvout import csv_response
from bot.services import services
from bot.translations import csvio, store
from flows.gsm7 import segment_count, to_gsm7
from models import utcnow

FILTERS = ("falta", "sin_revisar", "cambiado")
MAX_UPLOAD = 2 * 1024 * 1024
CHANGES = {"edited": "texto guardado (sin revisar)", "checked": "revisado por hablante nativo",
           "unchecked": "marca de revisión quitada"}


def _keep(row: store.Row, args) -> bool:
    """Tell whether a row passes the page's filters."""
    lang_ok = lambda name: args.get(name) in store.EDITABLE  # noqa: E731
    if lang_ok("falta") and row.texts.get(args["falta"]):
        return False
    if lang_ok("sin_revisar") and row.checked(args["sin_revisar"]):
        return False
    if lang_ok("cambiado") and not row.changed_since_checked(args["cambiado"]):
        return False
    if args.get("tipo") in ("reply", "topic") and row.kind != args["tipo"]:
        return False
    q = (args.get("q") or "").strip().lower()
    return not q or q in row.key.lower() or q in row.es.lower()


@bp.get("/textos")
@page("texts")
def texts():
    """List texts with their translations, the GSM-7 SMS and its segments."""
    with services().db.session() as session:
        found = [r for r in store.rows(session) if _keep(r, request.args)]
        session.expunge_all()
    args = {k: v for k, v in request.args.items() if v}
    return render_template("console/texts.html", rows=found, args=args, langs=store.EDITABLE,
                           gsm7=to_gsm7, segments=segment_count)


@bp.post("/textos/guardar")
@page("texts")
def text_save():
    """Save one translation and/or its native-speaker check."""
    form = request.form
    kind, key, fld, lang = (form.get(n, "") for n in ("kind", "key", "field", "lang"))
    back = url_for("console.texts", **{k: v for k, v in request.args.items() if v}) + \
        f"#t-{kind}-{key}-{fld}"
    try:
        with services().db.session() as session:
            row = store.find(session, kind, key, fld)
            what = store.save(session, row, lang, form.get("text", ""),
                              checked=form.get("checked") == "1", who=current_user.email,
                              now=utcnow())
    except store.TextError as exc:
        flash(f"{key} ({lang}): no se guardó: {exc}", "error")
        return redirect(back)
    if what:
        audit("text_edit", target=f"{kind}:{key}:{fld}:{lang}", change=what)
        said = ", ".join(CHANGES[w] for w in what.split(", "))
        flash(f"{key} ({lang}): {said}.", "ok")
    return redirect(back)


@bp.get("/textos.csv")
@page("texts")
def texts_csv():
    """Download every text as CSV (UTF-8), for translators who work offline."""
    with services().db.session() as session:
        table = csvio.table(session)
    audit("texts_export", target="texts", rows=len(table))
    return csv_response("textos-chaski.csv", csvio.HEADER, table)


@bp.post("/textos/subir")
@page("texts")
def texts_upload():
    """Take a CSV back: every changed qu/ay text, or nothing with a report by line."""
    upload = request.files.get("archivo")
    data = upload.read(MAX_UPLOAD + 1) if upload else b""
    if not data or len(data) > MAX_UPLOAD:
        flash("Elige un archivo CSV de hasta 2 MB.", "error")
        return redirect(url_for("console.texts"))
    with services().db.session() as session:
        saved, problems = csvio.upload(session, data, current_user.email, utcnow())
    if problems:
        audit("texts_upload_refused", target="texts", problems=len(problems))
        flash("No se guardó nada. " + " · ".join(problems[:30])
              + (f" · (+{len(problems) - 30} más)" if len(problems) > 30 else ""), "error")
    else:
        audit("texts_upload", target="texts", saved=saved)
        flash(f"CSV subido: {saved} textos guardados.", "ok")
    return redirect(url_for("console.texts"))

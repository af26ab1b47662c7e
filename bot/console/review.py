"""Review inbox: confirm or correct what the NLU understood; export the corrections."""
from __future__ import annotations

from pathlib import Path

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import or_, select

from bot.console import bp
from bot.console.access import audit, is_restricted, page, restricted_contacts
from bot.services import services
from bot.training.export import (DATA_DIR, EntityNotFound, annotate, clean_text, export_training,
                                 load_synonyms, parse_entities)
from bot.training.similar import misread_like
from models import REDACTED, Contact, Message, Review, utcnow
from nlu.classifier import INTENTS

INBOX_SIZE = 30
# Intents that mean "the bot did not understand", whatever the confidence.
UNCLEAR_INTENTS = ("out_of_scope", "nlu_fallback")
UNCLEAR_FLOWS = ("clarify", "clarification")


def threshold() -> float:
    """Return the confidence under which a message goes to the inbox."""
    try:
        return float(request.args.get("umbral", ""))
    except ValueError:
        return services().settings.nlu_min_confidence


def inbox_query(limit_threshold: float):
    """Select unreviewed, unredacted inbound messages the NLU was unsure about, or never saw
    (answered from the lookup tables while the model was down)."""
    return (select(Message, Contact).join(Contact, Contact.id == Message.contact_id)
            .outerjoin(Review, Review.message_id == Message.id)
            .where(Review.id.is_(None), Message.direction == "in", Message.redacted.is_(False),
                   Message.body.is_not(None), Message.body != "",
                   Message.nlu_source.not_in(("rule", "media", "empty")),
                   or_(Message.flow.is_(None), Message.flow != "support"),
                   Message.contact_id.not_in(restricted_contacts()),
                   or_(Message.confidence < limit_threshold, Message.intent.in_(UNCLEAR_INTENTS),
                       Message.flow.in_(UNCLEAR_FLOWS), Message.nlu_source == "fallback"))
            .order_by(Message.created_at.desc(), Message.id.desc()))


def data_dir() -> Path:
    """Return where exported training data goes (tests point it elsewhere)."""
    configured = services().settings.extra.get("NLU_DATA_DIR")
    if configured:
        return Path(configured)
    if current_app.testing:
        raise RuntimeError("set NLU_DATA_DIR in tests: an export must not change nlu/data")
    return DATA_DIR


@bp.get("/revision")
@page("review")
def review_inbox():
    """List the messages waiting for a reviewer, and the latest verdicts."""
    limit = threshold()
    with services().db.session() as session:
        rows = session.execute(inbox_query(limit).limit(INBOX_SIZE)).all()
        recent = session.scalars(select(Review).order_by(Review.created_at.desc(), Review.id.desc())
                                 .limit(15)).all()
        pending_export = session.scalar(
            select(Review.id).where(Review.exported_at.is_(None)).limit(1)) is not None
        misread = misread_like(session, recent)
    return render_template("console/review.html", rows=rows, recent=recent, intents=INTENTS,
                           threshold=limit, pending_export=pending_export, misread=misread)


@bp.post("/revision/<int:message_id>")
@page("review")
def review_message(message_id: int):
    """Store a reviewer's verdict (confirm or correct) on one message."""
    intent = request.form.get("intent", "")
    if intent not in INTENTS:
        flash("Elige una intención de la lista.", "error")
        return redirect(url_for("console.review_inbox"))
    try:
        entities = parse_entities(request.form.get("entities", ""))
    except ValueError as exc:
        flash(f"Entidades: {exc}.", "error")
        return redirect(url_for("console.review_inbox"))
    with services().db.session() as session:
        message = session.get(Message, message_id)
        if (message is None or message.direction != "in" or message.redacted
                or message.body is None or is_restricted(session, message.contact_id)):
            abort(404)
        text = clean_text(message.body)
        if intent != "gbv_support":
            try:
                annotate(text, entities, load_synonyms())
            except EntityNotFound as exc:
                flash(f"«{exc}» no aparece en el mensaje: escribe el valor tal como se lee "
                      "(o su forma canónica).", "error")
                return redirect(url_for("console.review_inbox"))
        review = session.scalar(select(Review).where(Review.message_id == message_id))
        if review is None:
            review = Review(message_id=message_id, old_intent=message.intent)
            session.add(review)
        status = "confirmed" if intent == message.intent and entities == (message.entities or {}) \
            else "corrected"
        review.user_id, review.status, review.intent = current_user.id, status, intent
        review.entities, review.text, review.exported_at = entities, text, None
        review.created_at = utcnow()
        if intent == "gbv_support":
            # The body of a message about violence leaves the database and the export.
            message.body, message.redacted, message.entities = None, True, {}
            review.text, review.entities = REDACTED, {}
    audit("review", target=f"message:{message_id}", status=status, intent=intent)
    flash("Intención confirmada." if status == "confirmed" else
          "Corrección guardada." + (" El mensaje quedó redactado y solo lo verán consejeras."
                                    if intent == "gbv_support" else ""))
    return redirect(url_for("console.review_inbox"))


@bp.post("/revision/exportar")
@page("review")
def export():
    """Write the reviewed messages as Rasa training data (button of the inbox)."""
    with services().db.session() as session:
        report = export_training(session, data_dir())
    audit("export_training", target=str(report.path.name), examples=report.examples)
    if report.written:
        flash(f"Exportados {report.examples} ejemplos a nlu/data/{report.path.name} "
              f"({', '.join(f'{k}: {v}' for k, v in report.by_intent.items())}). "
              "El modelo se reentrena en el próximo arranque (make run o train-nlu).")
    else:
        flash("No hay correcciones nuevas para exportar.")
    return redirect(url_for("console.review_inbox"))

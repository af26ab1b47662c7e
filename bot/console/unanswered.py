"""Preguntas sin respuesta: unanswered questions grouped by similarity; answer the people,
turn the answer into a topic draft, or mark the group out of scope."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from bot.console import bp
from bot.console.access import audit, is_restricted, page
from bot.conversations import handoffs as handoff_replies
from bot.services import services
from bot.topics import unanswered
from models import Contact, HandoffRequest, utcnow

REASONS = {"unmatched": "sin tema", "unhelpful": "no le sirvió"}


def _ids() -> list[int]:
    return [int(i) for i in request.form.getlist("ids") if i.isdigit()]


@bp.get("/preguntas")
@page("unanswered")
def unanswered_inbox():
    """List the groups of questions waiting, biggest first, with counts and phrasings."""
    with services().db.session() as session:
        groups = unanswered.open_groups(session)
    return render_template("console/unanswered.html", groups=groups, reasons=REASONS)


@bp.post("/preguntas/responder")
@page("unanswered")
def unanswered_answer():
    """Answer every person of a group through the hand-off reply (24-hour and template rules)."""
    body = (request.form.get("body") or "").strip()
    sent, refused, skipped = 0, [], 0
    now = utcnow()
    with services().db.session() as session:
        questions = unanswered.members(session, _ids())
        done_contacts = set()
        for question in questions:
            if question.contact_id in done_contacts:
                question.status = "answered"
                continue
            contact = session.get(Contact, question.contact_id)
            if is_restricted(session, contact.id):  # only a counsellor writes to her
                skipped += 1
                continue
            handoff = session.get(HandoffRequest, question.handoff_id) if question.handoff_id else None
            created = handoff is None
            if created:
                handoff = HandoffRequest(contact_id=contact.id, message_id=question.message_id,
                                         topic="agroecology", created_at=now)
                session.add(handoff)
                session.flush()
                question.handoff_id = handoff.id
            try:  # refused before anything is written (the reply's own checks)
                handoff_replies.send_reply(session, handoff, contact, body, user=current_user, now=now,
                                           private=False, ip=request.remote_addr,
                                           template_sid=services().settings.handoff_template_sid)
            except handoff_replies.ReplyRefused as exc:
                refused.append(str(exc))
                if created:
                    question.handoff_id = None
                    session.delete(handoff)
                continue
            done_contacts.add(contact.id)
            question.status, question.resolved_by_email, question.resolved_at = (
                "answered", current_user.email, now)
            sent += 1
    if sent:
        flash(f"Respuesta en la bandeja de salida para {sent} persona{'s' if sent != 1 else ''}. "
              "Puedes convertirla en tema.")
    for reason in dict.fromkeys(refused):
        flash(reason, "error")
    if skipped:
        flash(f"{skipped} persona(s) solo las atiende consejería: no se les escribió.", "error")
    return redirect(url_for("console.unanswered_inbox"))


@bp.post("/preguntas/tema")
@page("unanswered")
def unanswered_to_topic():
    """Open the topic editor prefilled with the group's phrasings as keywords and the answer."""
    return redirect(url_for("console.knowledge_new", grupo=_ids(),
                            respuesta=(request.form.get("body") or "").strip() or None))


@bp.post("/preguntas/fuera")
@page("unanswered")
def unanswered_out_of_scope():
    """Mark a group as out of scope (it leaves the inbox, counted on the dashboard)."""
    with services().db.session() as session:
        questions = unanswered.members(session, _ids())
        unanswered.resolve(questions, "out_of_scope", current_user.email, utcnow())
        count = len(questions)
    audit("unanswered_out_of_scope", target="unanswered", questions=count)
    flash(f"{count} pregunta(s) marcadas fuera de alcance.")
    return redirect(url_for("console.unanswered_inbox"))

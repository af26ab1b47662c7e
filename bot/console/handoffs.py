"""Hand-offs: the queue of people who asked for a person, urgent ones first.

Technicians see only the hand-offs of their topic ("technician": photos and voice notes),
whose media this page shows through `handoff_media`, read from Twilio on each view.
"""
from __future__ import annotations

from flask import Response, abort, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import case, func, or_, select

from bot import CONTENT_SECURITY_POLICY
from bot.console import bp
from bot.console.access import (audit, audit_restricted_listing, is_restricted, page,
                                restricted_contacts)
from bot.conversations import handoffs as handoff_replies
from bot.outbound.policy import inside_whatsapp_window
from bot.services import services
from flows import support
from flows.media import TOPIC as TECHNICIAN_TOPIC
from models import Contact, HandoffRequest, Message, utcnow

# open ──take──▶ taken ──close──▶ closed; open/taken ──reply──▶ answered (see HandoffRequest).
TRANSITIONS = {"take": ({"open"}, "taken"), "close": ({"open", "taken", "answered"}, "closed")}
PENDING = ("open", "taken", "answered")


def visible(query, user):
    """Limit `query` to the hand-offs `user` may see (violence: counsellors; technicians: theirs)."""
    if user.role == "technician":
        query = query.where(HandoffRequest.topic == TECHNICIAN_TOPIC)
    if user.sees_restricted:
        return query
    return query.where(or_(HandoffRequest.topic.is_(None), HandoffRequest.topic != "support"),
                       HandoffRequest.contact_id.not_in(restricted_contacts()))


@bp.get("/derivaciones")
@page("handoffs")
def handoffs():
    """List open and taken hand-offs, urgent first, oldest first within each."""
    show_closed = request.args.get("cerradas") == "1"
    statuses = ("closed",) if show_closed else PENDING
    query = (select(HandoffRequest, Contact).join(Contact, Contact.id == HandoffRequest.contact_id)
             .where(HandoffRequest.status.in_(statuses))
             .order_by(case((HandoffRequest.urgent.is_(True), 0), else_=1),
                       HandoffRequest.created_at, HandoffRequest.id).limit(200))
    with services().db.session() as session:
        rows = session.execute(visible(query, current_user)).all()
        if current_user.sees_restricted:
            audit_restricted_listing(session, (c.id for _, c in rows), "handoffs")
        replies = handoff_replies.latest_replies(session, [(h.id, c.id) for h, c in rows])
        now = utcnow()
        channels = handoff_replies.reply_channels(session, rows)
        media_counts = _support_media_counts(session, rows)
    window = {h.id: channels[h.id] != "whatsapp" or
              inside_whatsapp_window(c.last_whatsapp_inbound_at, now) for h, c in rows}
    response = make_response(render_template(
        "console/handoffs.html", rows=rows, show_closed=show_closed, replies=replies,
        channels=channels, window=window, template_sid=_template_sid(), media_counts=media_counts,
        shown=handoff_replies.shown))
    # This page plays voice notes: the console's policy plus audio from the console itself.
    response.headers["Content-Security-Policy"] = f"{CONTENT_SECURITY_POLICY}; media-src 'self'"
    return response


def _support_media_counts(session, rows) -> dict[int, int]:
    """Return {support hand-off id: media messages she sent in that conversation} (never the media)."""
    contacts = {c.id for h, c in rows if h.topic == support.FLOW}
    if not contacts:
        return {}
    counts = dict(session.execute(
        select(Message.contact_id, func.count()).where(
            Message.contact_id.in_(contacts), Message.direction == "in", Message.num_media > 0,
            Message.redacted.is_(True)).group_by(Message.contact_id)).all())
    return {h.id: counts.get(c.id, 0) for h, c in rows if h.topic == support.FLOW}


def _template_sid() -> str | None:
    return services().settings.handoff_template_sid


def _visible_handoff(session, handoff_id: int) -> HandoffRequest:
    """Return the hand-off if the current user may see it, else 404."""
    handoff = session.scalar(visible(select(HandoffRequest).where(HandoffRequest.id == handoff_id),
                                     current_user))
    if handoff is None:
        abort(404)
    return handoff


@bp.get("/derivaciones/<int:handoff_id>/medio/<int:n>")
@page("handoffs")
def handoff_media(handoff_id: int, n: int):
    """Serve one photo or voice note of a hand-off, read from Twilio now; never stored or cached."""
    with services().db.session() as session:
        handoff = _visible_handoff(session, handoff_id)
        refs = list(handoff.media or []) if handoff.topic == TECHNICIAN_TOPIC else []
    if not 0 <= n < len(refs) or not handoff_replies.shown(refs[n]):
        abort(404)
    try:
        data, content_type = handoff_replies.fetch_media(refs[n], services().settings)
    except handoff_replies.MediaUnavailable as exc:
        return Response(f"No se pudo traer el archivo de Twilio ({exc}).", status=502,
                        mimetype="text/plain", headers={"Cache-Control": "no-store"})
    audit("handoff_media", target=f"handoff:{handoff_id}", n=n)
    return Response(data, mimetype=content_type, headers={
        "Cache-Control": "no-store, private", "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox; default-src 'none'",
        "Content-Disposition": "inline"})


@bp.post("/derivaciones/<int:handoff_id>/responder")
@page("handoffs")
def handoff_reply(handoff_id: int):
    """Queue a reply through the outbox and mark the hand-off answered, in one transaction."""
    try:
        with services().db.session() as session:
            handoff = _visible_handoff(session, handoff_id)
            contact = session.get(Contact, handoff.contact_id)
            private = handoff.topic == "support" or is_restricted(session, contact.id)
            row = handoff_replies.send_reply(
                session, handoff, contact, request.form.get("body", ""), user=current_user,
                now=utcnow(), private=private, template_sid=_template_sid(),
                ip=request.remote_addr, number=request.form.get("n", type=int))
            later = row.next_attempt_at > utcnow()
    except handoff_replies.ReplyRefused as exc:
        flash(str(exc), "error")
        return redirect(url_for("console.handoffs"))
    flash("Respuesta en la bandeja de salida" + (": saldrá a las 07:00 (horario de silencio)."
                                                 if later else "; se envía en unos segundos."))
    return redirect(url_for("console.handoffs"))


@bp.post("/derivaciones/<int:handoff_id>/<action>")
@page("handoffs")
def handoff_action(handoff_id: int, action: str):
    """Take or close one hand-off."""
    if action not in TRANSITIONS:
        abort(404)
    allowed_from, new_status = TRANSITIONS[action]
    with services().db.session() as session:
        handoff = _visible_handoff(session, handoff_id)
        if handoff.status not in allowed_from:
            flash("Esta derivación ya cambió de estado.", "error")
            return redirect(url_for("console.handoffs"))
        handoff.status = new_status
        if new_status == "closed":
            handoff.closed_at = utcnow()
    audit(f"handoff_{action}", target=f"handoff:{handoff_id}")
    flash("Derivación tomada." if action == "take" else "Derivación cerrada.")
    return redirect(url_for("console.handoffs"))

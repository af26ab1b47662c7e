"""Contactos: find a contact, see her profile, export what is stored about her, erase her.

Admin and coordinator see every contact; a counsellor only contacts who asked for a
person (a hand-off). A contact who had a conversation about violence shows her
conversation only to counsellors, audited, as on the conversations page. Only an
admin erases, after typing BORRAR; the audit log never gets the number.
"""
from __future__ import annotations

import json
from datetime import timedelta

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import exists, select

from bot.console import bp
from bot.console.access import audit, is_restricted, page
from bot.privacy import contacts as stored
from bot.privacy import erasure
from bot.privacy.suppression import suppression_key
from bot.proactive.audience import CHANNELS, SUBSCRIPTION_KINDS, uses_channel
from bot.services import services
from flows.catalog import LANGUAGES
from flows.onboarding import REGIONS
from models import (Contact, HandoffRequest, Message, OutboxMessage, Subscription, Survey,
                    SurveyParticipant, utcnow)

ERASERS = {"admin"}  # who may erase a contact (the page itself: ACCESS["contacts"])
LIMIT = 100
THREAD_LIMIT = 200


def _visible(query):
    """Limit a query on Contact to the contacts the current user may see."""
    if current_user.role == "counsellor":
        return query.where(exists().where(HandoffRequest.contact_id == Contact.id))
    return query


def _contact_or_404(session, contact_id: int) -> Contact:
    contact = session.scalar(_visible(select(Contact).where(Contact.id == contact_id)))
    if contact is None:
        abort(404)
    return contact


def search_conditions(args) -> tuple[list, dict]:
    """Return the SQL conditions of the search form and the filters as read (bad ones dropped)."""
    f = {k: (args.get(k) or "").strip() for k in ("digitos", "region", "provincia", "idioma",
                                                  "canal", "suscripcion", "activo_dias")}
    where = []
    digits = "".join(c for c in f["digitos"] if c.isdigit())
    f["digitos"] = digits
    if digits:
        where.append(Contact.phone.like(f"%{digits}"))
    if f["region"] in REGIONS:
        where.append(Contact.region == f["region"])
    else:
        f["region"] = ""
    if f["provincia"]:
        where.append(Contact.province.ilike(f["provincia"]))
    if f["idioma"] in LANGUAGES:
        where.append(Contact.language == f["idioma"])
    else:
        f["idioma"] = ""
    if f["canal"] in CHANNELS:
        where.append(uses_channel(f["canal"]))
    else:
        f["canal"] = ""
    if f["suscripcion"] in SUBSCRIPTION_KINDS:
        where.append(exists().where(Subscription.contact_id == Contact.id,
                                    Subscription.kind == f["suscripcion"],
                                    Subscription.status == "active"))
    else:
        f["suscripcion"] = ""
    if f["activo_dias"].isdigit() and int(f["activo_dias"]) > 0:
        where.append(Contact.last_inbound_at >= utcnow() - timedelta(days=int(f["activo_dias"])))
    else:
        f["activo_dias"] = ""
    return where, f


@bp.get("/contactos")
@page("contacts")
def contacts():
    """Search contacts by last digits, region, province, language, channel, subscription."""
    where, filters = search_conditions(request.args)
    with services().db.session() as session:
        rows = session.scalars(_visible(select(Contact).where(*where))
                               .order_by(Contact.last_inbound_at.desc().nulls_last(), Contact.id)
                               .limit(LIMIT + 1)).all()
    return render_template("console/contacts.html", rows=rows[:LIMIT], more=len(rows) > LIMIT,
                           filters=filters, regions=REGIONS, languages=LANGUAGES,
                           channels=CHANNELS, kinds=SUBSCRIPTION_KINDS)


@bp.get("/contactos/<int:contact_id>/perfil")
@page("contacts")
def contact_profile(contact_id: int):
    """Show her profile, consent, subscriptions, surveys, deliveries and conversation."""
    with services().db.session() as session:
        contact = _contact_or_404(session, contact_id)
        restricted = is_restricted(session, contact_id)
        hidden = restricted and not current_user.sees_restricted
        subs = session.scalars(select(Subscription).where(Subscription.contact_id == contact_id)
                               .order_by(Subscription.id)).all()
        surveys = session.execute(
            select(SurveyParticipant, Survey.slug)
            .join(Survey, Survey.id == SurveyParticipant.survey_id)
            .where(SurveyParticipant.contact_id == contact_id)
            .order_by(SurveyParticipant.id)).all()
        deliveries = session.scalars(select(OutboxMessage)
                                     .where(OutboxMessage.contact_id == contact_id)
                                     .order_by(OutboxMessage.id.desc()).limit(50)).all()
        messages = [] if hidden else list(reversed(session.scalars(
            select(Message).where(Message.contact_id == contact_id)
            .order_by(Message.created_at.desc(), Message.id.desc()).limit(THREAD_LIMIT)).all()))
        session.expunge_all()
    if hidden:
        audit("restricted_denied", target=f"contact:{contact_id}")
    elif restricted:
        audit("restricted_view", target=f"contact:{contact_id}", messages=len(messages))
    return render_template("console/contact.html", contact=contact, subs=subs, surveys=surveys,
                           deliveries=deliveries, messages=messages, restricted=restricted,
                           hidden=hidden, can_erase=current_user.role in ERASERS,
                           describe=stored.describe_subscription)


@bp.get("/contactos/<int:contact_id>/exportar")
@page("contacts")
def contact_export(contact_id: int):
    """Download everything stored about her as JSON (a violence conversation: counsellors)."""
    with services().db.session() as session:
        contact = _contact_or_404(session, contact_id)
        data = stored.export(session, contact)
        if is_restricted(session, contact_id) and not current_user.sees_restricted:
            data["messages"] = [m for m in data["messages"]
                                if not m["redacted"] and m["flow"] != "support"]
            data["handoffs"] = []
            data["restricted"] = "conversación restringida: solo la ve el rol consejera"
    audit("contact_export", target=f"contact:{contact_id}")
    return Response(json.dumps(data, ensure_ascii=False, indent=2),
                    mimetype="application/json",
                    headers={"Content-Disposition":
                             f"attachment; filename=contacto-{contact_id}.json"})


@bp.post("/contactos/<int:contact_id>/borrar")
@page("contacts")
def contact_erase(contact_id: int):
    """Erase the contact after the admin typed BORRAR; audited without the number."""
    if current_user.role not in ERASERS:
        abort(403)
    if (request.form.get("confirmar") or "").strip().upper() != "BORRAR":
        flash("Para borrar escribe BORRAR en la casilla de confirmación.", "error")
        return redirect(url_for("console.contact_profile", contact_id=contact_id))
    key = suppression_key(services().settings)
    with services().db.session() as session:
        contact = _contact_or_404(session, contact_id)
        erasure.erase(session, contact, utcnow(), key, by="console", user_id=current_user.id,
                      email=current_user.email)
    flash("Contacto borrado: no queda su número, su perfil ni el texto de sus mensajes.", "ok")
    return redirect(url_for("console.contacts"))

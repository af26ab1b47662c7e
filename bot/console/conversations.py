"""Conversations: the filtered message list and the thread of one contact."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flask import abort, render_template, request
from flask_login import current_user
from sqlalchemy import and_, func, or_, select

from bot.clock import LIMA
from bot.console import bp
from bot.console.access import (audit, audit_restricted_listing, is_restricted, page,
                                restricted_contacts)
from bot.services import services
from models import Contact, Message
from nlu.classifier import INTENTS

PAGE_SIZE = 50
COUNT_CAP = 10_000
THREAD_LIMIT = 500
CHANNELS = ("sms", "whatsapp")


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        return None


@dataclass
class Filters:
    """What the list page was asked for, read leniently from the query string."""

    q: str = ""
    date_from: date | None = None
    date_to: date | None = None
    channel: str = ""
    region: str = ""
    intent: str = ""
    flow: str = ""
    direction: str = ""
    conf_min: float | None = None
    conf_max: float | None = None

    @classmethod
    def from_args(cls, args) -> "Filters":
        return cls(q=(args.get("q") or "").strip()[:100], date_from=_date(args.get("desde")),
                   date_to=_date(args.get("hasta")),
                   channel=args.get("canal", "") if args.get("canal") in CHANNELS else "",
                   region=(args.get("region") or "").strip()[:40],
                   intent=args.get("intencion", "") if args.get("intencion") in INTENTS else "",
                   flow=(args.get("flujo") or "").strip()[:40],
                   direction=args.get("dir", "") if args.get("dir") in ("in", "out") else "",
                   conf_min=_float(args.get("conf_min")), conf_max=_float(args.get("conf_max")))

    def conditions(self, sees_restricted: bool, sees_phone: bool) -> list:
        """Return the SQL conditions on Message (and Contact) for these filters."""
        where = []
        if not sees_restricted:
            where.append(Message.contact_id.not_in(restricted_contacts()))
        if self.q:
            like = f"%{self.q.replace('%', '').replace('_', '')}%"
            text = Message.body.ilike(like)
            digits = "".join(ch for ch in self.q if ch.isdigit())
            if sees_phone and len(digits) >= 6:
                text = or_(text, Contact.phone.like(f"%{digits}%"))
            where.append(text)
        if self.date_from:
            where.append(Message.created_at >= datetime.combine(self.date_from, time(), LIMA))
        if self.date_to:
            end = datetime.combine(self.date_to + timedelta(days=1), time(), LIMA)
            where.append(Message.created_at < end)
        for column, value in ((Message.channel, self.channel), (Message.intent, self.intent),
                              (Message.flow, self.flow), (Message.direction, self.direction),
                              (Contact.region, self.region)):
            if value:
                where.append(column == value)
        if self.conf_min is not None:
            where.append(Message.confidence >= self.conf_min)
        if self.conf_max is not None:
            where.append(Message.confidence < self.conf_max)
        return where


def _cursor(value: str | None) -> tuple[datetime, int] | None:
    try:
        stamp, _, ident = (value or "").partition("_")
        return datetime.fromisoformat(stamp), int(ident)
    except ValueError:
        return None


def list_messages(session, filters: Filters, user, before: str | None = None):
    """Return one page of messages (newest first), whether there is more, and a capped count."""
    where = filters.conditions(user.sees_restricted, user.sees_full_phone)
    base = select(Message, Contact).join(Contact, Contact.id == Message.contact_id)
    cursor = _cursor(before)
    page_where = list(where)
    if cursor:
        stamp, ident = cursor
        page_where.append(or_(Message.created_at < stamp,
                              and_(Message.created_at == stamp, Message.id < ident)))
    rows = session.execute(base.where(*page_where).order_by(Message.created_at.desc(),
                                                            Message.id.desc())
                           .limit(PAGE_SIZE + 1)).all()
    counted = select(Message.id).join(Contact, Contact.id == Message.contact_id) \
        .where(*where).limit(COUNT_CAP + 1).subquery()
    total = session.scalar(select(func.count()).select_from(counted))
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    next_cursor = None
    if more:
        last = rows[-1][0]
        next_cursor = f"{last.created_at.isoformat()}_{last.id}"
    return rows, next_cursor, total


@bp.get("/conversaciones")
@page("conversations")
def conversations():
    """List messages with search and filters, newest first, 50 a page."""
    filters = Filters.from_args(request.args)
    with services().db.session() as session:
        rows, next_cursor, total = list_messages(session, filters, current_user,
                                                 request.args.get("antes"))
        if current_user.sees_restricted:
            audit_restricted_listing(session, (c.id for _, c in rows), "conversations")
        regions = session.scalars(select(Contact.region).where(Contact.region.is_not(None))
                                  .distinct().order_by(Contact.region)).all()
    args = {k: v for k, v in request.args.items() if k != "antes" and v}
    return render_template("console/conversations.html", rows=rows, filters=filters,
                           next_cursor=next_cursor, total=total, cap=COUNT_CAP, args=args,
                           intents=INTENTS, channels=CHANNELS, regions=regions,
                           paged=bool(request.args.get("antes")))


@bp.get("/contactos/<int:contact_id>")
@page("conversations")
def thread(contact_id: int):
    """Show one contact's messages; a violence conversation only to counsellors, audited."""
    with services().db.session() as session:
        contact = session.get(Contact, contact_id)
        if contact is None:
            abort(404)
        restricted = is_restricted(session, contact_id)
        if restricted and not current_user.sees_restricted:
            audit("restricted_denied", target=f"contact:{contact_id}")
            abort(404)
        messages = session.scalars(
            select(Message).where(Message.contact_id == contact_id)
            .order_by(Message.created_at.desc(), Message.id.desc()).limit(THREAD_LIMIT)).all()
    if restricted:
        audit("restricted_view", target=f"contact:{contact_id}", messages=len(messages))
    return render_template("console/thread.html", contact=contact,
                           messages=list(reversed(messages)), restricted=restricted,
                           limit=THREAD_LIMIT)

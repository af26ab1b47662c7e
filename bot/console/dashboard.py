"""Dashboard: messages per day by channel, top intents, fallback rate, opt-outs, regions, and
the system's health (sender, scheduler, outbox backlog, NLU, last alert import)."""
from __future__ import annotations

from datetime import datetime, time, timedelta

from flask import render_template, request
from sqlalchemy import func, select

from bot.clock import LIMA
from bot.console import bp
from bot.console.access import page
from bot.console.charts import day_bars, hbars
from bot.services import services
from bot.topics import unanswered
from models import Alert, Contact, Message, OutboxMessage, utcnow
from models.heartbeats import SCHEDULER, SENDER, last_seen

UNCLEAR = ("out_of_scope", "nlu_fallback")


def lima_day(column, dialect: str):
    """Return an SQL expression for the America/Lima calendar day of `column`."""
    if dialect == "postgresql":
        return func.to_char(func.timezone("America/Lima", column), "YYYY-MM-DD")
    return func.date(column, "-5 hours")  # Lima is UTC−5 all year (no DST)


def stats(session, days: int, now: datetime | None = None) -> dict:
    """Return the figures of the last `days` days (aggregates only, no message text)."""
    now = now or utcnow()
    today = now.astimezone(LIMA).date()
    first = today - timedelta(days=days - 1)
    since = datetime.combine(first, time(), LIMA)
    dialect = session.bind.dialect.name
    day = lima_day(Message.created_at, dialect)
    per_day = {(d, c): n for d, c, n in session.execute(
        select(day, Message.channel, func.count()).where(Message.created_at >= since,
                                                         Message.direction == "in")
        .group_by(day, Message.channel)).all()}
    days_list = [first + timedelta(days=i) for i in range(days)]
    series = [{"day": d, "sms": per_day.get((d.isoformat(), "sms"), 0),
               "whatsapp": per_day.get((d.isoformat(), "whatsapp"), 0)} for d in days_list]
    inbound = (Message.direction == "in", Message.created_at >= since)
    intents = session.execute(select(Message.intent, func.count()).where(*inbound)
                              .group_by(Message.intent).order_by(func.count().desc())
                              .limit(10)).all()
    total_in = session.scalar(select(func.count()).select_from(Message).where(*inbound)) or 0
    modelled = session.scalar(select(func.count()).select_from(Message).where(
        *inbound, Message.nlu_source.in_(("rasa", "unavailable")))) or 0
    threshold = services().settings.nlu_min_confidence
    fallback = session.scalar(select(func.count()).select_from(Message).where(
        *inbound, Message.nlu_source.in_(("rasa", "unavailable")),
        (Message.confidence < threshold) | Message.intent.in_(UNCLEAR))) or 0
    opt_outs = session.scalar(select(func.count()).select_from(Contact).where(
        Contact.opted_out_at >= since)) or 0
    opted_out_now = session.scalar(select(func.count()).select_from(Contact).where(
        Contact.opted_out_at.is_not(None))) or 0
    regions = session.execute(select(Contact.region, func.count()).where(
        Contact.last_inbound_at >= since).group_by(Contact.region)
        .order_by(func.count().desc())).all()
    return {"days": days, "first": first, "today": today, "series": series,
            "intents": [(i or "—", n) for i, n in intents], "total_in": total_in,
            "modelled": modelled, "fallback": fallback,
            "fallback_rate": (fallback / modelled) if modelled else None,
            "opt_outs": opt_outs, "opted_out_now": opted_out_now,
            "regions": [(r or "sin región", n) for r, n in regions]}


# A process not seen for longer than this is shown as silent (they beat every 10 s to 1 min).
SILENT_AFTER = timedelta(minutes=3)


def system_health(session, now: datetime, nlu_up: bool) -> dict:
    """Return what the "Salud del sistema" box shows: last beats, backlog, NLU, alert import."""
    seen = last_seen(session)
    queued = (OutboxMessage.status == "queued")
    oldest_due = session.scalar(select(func.min(OutboxMessage.next_attempt_at))
                                .where(queued, OutboxMessage.next_attempt_at <= now))
    return {
        "processes": [(label, seen.get(kind), seen.get(kind) is not None
                       and now - seen[kind] <= SILENT_AFTER)
                      for kind, label in ((SENDER, "Envío (sender)"), (SCHEDULER, "Programador"))],
        "backlog": session.scalar(select(func.count()).select_from(OutboxMessage).where(queued)) or 0,
        "oldest_due": (now - oldest_due) if oldest_due else None,
        "nlu_up": nlu_up,
        "last_alert_import": session.scalar(select(func.max(Alert.imported_at))),
    }


@bp.get("/")
@page("dashboard")
def dashboard():
    """Show the last 7, 30 or 90 days as charts drawn on the server (inline SVG)."""
    days = request.args.get("dias", type=int) or 30
    days = days if days in (7, 30, 90) else 30
    svc = services()
    with svc.db.session() as session:
        figures = stats(session, days)
        health = system_health(session, utcnow(), svc.nlu.is_ready(timeout=1.0))
        weeks = unanswered.weekly(session, utcnow())
    return render_template("console/dashboard.html", s=figures, chart=day_bars(figures["series"]),
                           intents=hbars(figures["intents"]), regions=hbars(figures["regions"]),
                           health=health, unanswered_weeks=weeks)

"""Push climate alerts to the people they concern, in the import's own transaction.

An imported Alert or Update goes to consenting, not-stopped contacts with an
active "alerts" subscription for one of its regions (and hazards; "" = every
hazard); a red alert goes to every consenting contact of those regions too. The same
goes for a located contact whose point lies in one of its CAP polygons or circles, also
when the alert names no region (flows/location.py tests the point). A
Cancel goes to whoever was already sent the alert it cancels. Each row's key is
"alert:<identifier>:<msgType>:contact:<id>" (a re-import adds nothing), its
`not_after` is the warning's end (the sender never delivers it late), and only
red alerts are `urgent` (allowed in quiet hours). An Update or Cancel first
cancels the still-queued rows of the alert it replaces.
"""
from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import datetime
from types import SimpleNamespace

from sqlalchemy import Boolean, Integer, String, Text, and_, cast, exists, false, literal, or_, select
from sqlalchemy.orm import Session

from bot.conversations.facts import Facts
from bot.outbound.outbox import cancel_queued, dialect_insert, enqueue_many
from bot.outbound.policy import (check_topic, first_attempt_at, free_text_channel, free_text_channel_sql,
                                 reachable)
from flows import climate, location
from flows.catalog import t
from flows.fit import fits, shorten
from flows.places import REGION_NAMES
from flows.records import AlertView
from models import Alert, Contact, OutboxMessage, Subscription
from models.alerts import CURRENT
from models.base import UTCDateTime

TOPIC, SOURCE = "alerts", "alert"
DELIVERED = ("sending", "sent", "delivered", "read")  # the person may have read the old alert
# What a push needs of each recipient (plain rows: a red alert may reach many thousands).
RECIPIENT_COLUMNS = (Contact.id, Contact.language, Contact.region, Contact.channels,
                     Contact.last_whatsapp_inbound_at)


def key_prefix(identifier: str) -> str:
    """Return the key prefix of every row of one alert (long identifiers are hashed)."""
    token = identifier if len(identifier) <= 100 else hashlib.sha1(identifier.encode()).hexdigest()
    return f"alert:{token}:"


def queue_alert_pushes(session: Session, alert: Alert, now: datetime) -> int:
    """Write the outbox rows an imported alert calls for; return how many were added."""
    if alert.status != "Actual" or alert.scope != "Public" or alert.msg_type not in {
            "Alert", "Update", "Cancel"}:
        return 0
    replaced = _replaced(session, alert)
    if alert.msg_type == "Cancel":
        return _queue_cancel(session, alert, replaced, now)
    for old in replaced:
        cancel_queued(session, now, f"replaced by {alert.msg_type} {alert.identifier}"[:300],
                      key_prefix=key_prefix(old.identifier))
    informed = _sent_to(replaced)  # whoever got the old warning hears of its update
    if alert.state != CURRENT:  # a Cancel or Update naming it was imported earlier
        return 0
    views = [(info, view) for info, view in _views(alert) if view.ends_at > now]
    if not views:
        return 0
    regions = sorted({r for _info, view in views for r in view.regions})
    hazards = sorted({h for _info, view in views for h in view.hazards})
    red = any(view.level == "rojo" for _info, view in views)
    audience = _audience(regions, hazards, red, informed)
    added = _queue_by_point(session, alert, views, hazards, red, now)  # polygons and circles
    if audience is None:
        return added
    # Thousands of people share a few texts: one INSERT ... SELECT per (language, region) of them.
    groups = session.execute(select(Contact.language, Contact.region).where(*audience)
                             .group_by(Contact.language, Contact.region)).all()
    for language, contact_region in groups:
        info, view = _for_language(views, language)
        region = contact_region if contact_region in view.regions else (view.regions or ("",))[0]
        lang = language or "es"
        body = alert_text(view, lang, REGION_NAMES.get(region, region), update=alert.msg_type == "Update")
        same = [_is(Contact.language, language), _is(Contact.region, contact_region)]
        added += _insert_select(session, alert, [*audience, *same], body, view.ends_at,
                                red and view.level == "rojo", now)
    return added


def _queue_by_point(session: Session, alert: Alert, views: list[tuple], hazards: list[str],
                    red: bool, now: datetime) -> int:
    """Push to located contacts whose point lies in one of the alert's CAP polygons or circles.

    Who: as for regions (an active alerts subscription for the hazard; for a red alert,
    every consenting contact), wherever her region is. A contact the region push reached
    already has the row's key: the insert adds nothing for her.
    """
    areas = [(area.polygons or [], area.circles or []) for info, _view in views
             for area in info.areas if area.polygons or area.circles]
    boxes = [box for box in (location.bounds(p, c) for p, c in areas) if box]
    if not boxes:
        return 0
    wanted = exists().where(
        Subscription.contact_id == Contact.id, Subscription.kind == "alerts",
        Subscription.status == "active",
        or_(Subscription.hazard == "", Subscription.hazard.in_(hazards or [""])))
    near = [*reachable(), Contact.latitude.is_not(None), Contact.longitude.is_not(None),
            Contact.latitude.between(min(b[0] for b in boxes), max(b[1] for b in boxes)),
            Contact.longitude.between(min(b[2] for b in boxes), max(b[3] for b in boxes))]
    candidates = session.execute(
        select(Contact.id, Contact.language, Contact.region, Contact.latitude, Contact.longitude)
        .where(*near, *([] if red else [wanted]))).all()
    parsed = [location.shapes(p, circ) for p, circ in areas]  # once, not per candidate
    groups: dict[tuple, list[int]] = {}
    for c in candidates:
        if any(shape.hold(c.latitude, c.longitude) for shape in parsed):
            groups.setdefault((c.language, c.region), []).append(c.id)
    added = 0
    for (language, contact_region), ids in groups.items():
        _info, view = _for_language(views, language)
        body = alert_text(view, language or "es", REGION_NAMES.get(contact_region, contact_region or ""),
                          update=alert.msg_type == "Update")
        for start in range(0, len(ids), 500):
            added += _insert_select(session, alert, [*reachable(), Contact.id.in_(ids[start:start + 500])],
                                    body, view.ends_at, red and view.level == "rojo", now)
    return added


def _is(column, value):
    """Return `column = value`, or IS NULL for None."""
    return column.is_(None) if value is None else column == value


def _insert_select(session: Session, alert: Alert, where: list, body: str, not_after: datetime,
                   urgent: bool, now: datetime) -> int:
    """Write one push per contact matching `where`, all with `body`, in one statement; return how many."""
    check_topic(TOPIC)
    stamp = literal(now, UTCDateTime())
    columns = {
        "key": literal(f"{key_prefix(alert.identifier)}{alert.msg_type}:contact:", String)
        + cast(Contact.id, String),
        "source": literal(SOURCE, String), "contact_id": Contact.id,
        "channel": free_text_channel_sql(now), "body": literal(body, Text),
        "topic": literal(TOPIC, String), "urgent": literal(bool(urgent), Boolean),
        "not_after": literal(not_after, UTCDateTime()), "status": literal("queued", String),
        "attempts": literal(0, Integer),
        "next_attempt_at": literal(first_attempt_at(now, urgent), UTCDateTime()),
        "created_at": stamp, "updated_at": stamp,
    }
    stmt = (dialect_insert(session)(OutboxMessage)
            .from_select(list(columns), select(*columns.values()).where(*where).order_by(Contact.id))
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(OutboxMessage.id))
    return len(session.execute(stmt).all())


def _queue_cancel(session: Session, alert: Alert, replaced: list[Alert], now: datetime) -> int:
    """Tell those already sent a replaced alert that it no longer holds; cancel the rest."""
    rows = []
    for old in replaced:
        prefix = key_prefix(old.identifier)
        sent_to = _sent_to([old])
        cancel_queued(session, now, f"cancelled by {alert.identifier}"[:300], key_prefix=prefix)
        views = _views(old)
        if not views:
            continue
        ends = max(view.ends_at for _info, view in views)
        if ends <= now:
            continue  # it has run out anyway: nothing to say
        contacts = session.execute(select(*RECIPIENT_COLUMNS).where(
            Contact.id.in_(sent_to), Contact.consent_at.is_not(None),
            Contact.opted_out_at.is_(None)).order_by(Contact.id)).all()
        for contact in contacts:
            _info, view = _for_language(views, contact.language)
            region = contact.region if contact.region in view.regions else (view.regions or ("",))[0]
            body = cancel_text(view, contact.language or "es", REGION_NAMES.get(region, region),
                               sent=alert.sent)
            rows.append(_row(alert, contact, body, ends, False, now))
    return enqueue_many(session, rows, now)


def _row(alert: Alert, contact, body: str, not_after: datetime, urgent: bool,
         now: datetime) -> dict:
    return dict(key=f"{key_prefix(alert.identifier)}{alert.msg_type}:contact:{contact.id}",
                source=SOURCE, contact_id=contact.id, channel=free_text_channel(contact, now), body=body,
                topic=TOPIC, urgent=urgent, not_after=not_after)


def _replaced(session: Session, alert: Alert) -> list[Alert]:
    """Return the stored alerts this Update or Cancel names in its references."""
    if alert.msg_type not in {"Update", "Cancel"}:
        return []
    found = []
    for sender, identifier, _sent in alert.refs or []:
        old = session.scalar(select(Alert).where(Alert.sender == sender,
                                                 Alert.identifier == identifier))
        if old is not None and old.id != alert.id:
            found.append(old)
    return found


def _sent_to(alerts: list[Alert]):
    """Return a subquery of the contacts already sent (or being sent) one of these alerts."""
    prefixes = [OutboxMessage.key.startswith(key_prefix(a.identifier), autoescape=True)
                for a in alerts]
    return select(OutboxMessage.contact_id).where(
        or_(*prefixes) if prefixes else false(), OutboxMessage.status.in_(DELIVERED))


def _views(alert: Alert) -> list[tuple]:
    """Return (info, AlertView) for each info block of an alert."""
    return [(info, Facts.alert_view(info, tuple(sorted({r for a in info.areas for r in a.regions or []}))))
            for info in alert.infos]


def _for_language(views: list[tuple], language: str | None) -> tuple:
    """Pick the info in the contact's language, else Spanish, else the first."""
    for wanted in (language or "es", "es"):
        for info, view in views:
            if (info.language or "").lower().split("-")[0] == wanted:
                return info, view
    return views[0]


def _audience(regions: list[str], hazards: list[str], red: bool, informed=None) -> list | None:
    """Return the conditions on Contact of who hears of a warning (None: it names no region)."""
    if not regions:
        return None
    subscribed = exists().where(
        Subscription.contact_id == Contact.id, Subscription.kind == "alerts",
        Subscription.status == "active",
        or_(Subscription.hazard == "", Subscription.hazard.in_(hazards or [""])),
        or_(Subscription.region.in_(regions),
            and_(Subscription.region == "", Contact.region.in_(regions))))
    audience = or_(subscribed, Contact.region.in_(regions)) if red else subscribed
    if informed is not None:
        audience = or_(audience, Contact.id.in_(informed))
    return [*reachable(), audience]


def alert_text(view: AlertView, lang: str, region_name: str, update: bool = False) -> str:
    """Return the push of one warning, as the climate reply words it, in two GSM-7 SMS at most."""
    ctx = SimpleNamespace(lang=lang)
    head = climate.title_text(ctx, view, region_name)
    if update:
        head = f"{t('push_update', lang)} {head}"
    head = f"{head} {climate.validity_text(ctx, view)}"
    end = f"{climate.source_text(ctx, view)}\n{t('push_stop', lang)}"
    todo = view.instruction or view.headline or ""
    for room in range(len(todo), -1, -10):
        action = t("climate_todo", lang, instruction=shorten(todo, room)) if room > 10 else ""
        text = "\n".join(part for part in (head, action, end) if part)
        if fits(text, "sms"):
            return text
    return f"{head}\n{end}"


def cancel_text(view: AlertView, lang: str, region_name: str, sent: datetime) -> str:
    """Return "CANCELADO: el aviso de ... ya no rige." with the source and when it was sent."""
    view = replace(view, sent=sent)
    ctx = SimpleNamespace(lang=lang)
    return "\n".join([t("push_cancel", lang, event=view.event.lower(), region=region_name),
                      climate.source_text(ctx, view), t("push_stop", lang)])

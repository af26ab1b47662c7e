"""Recurring proactive messages: the weekly price digest and the monthly calendar tip.

Each job takes (session, now), writes at most one outbox row per contact and
period (keys "digest:<ISO year-week>:contact:<id>", "calendar:<YYYY-MM>:contact:<id>"),
so a re-run adds nothing, and returns a dict of counts. Only consenting contacts who
did not stop get anything; prices older than STALE_DAYS are left out, never shown.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from types import SimpleNamespace

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.clock import LIMA
from bot.conversations.facts import Facts
from bot.outbound.outbox import enqueue_many
from bot.outbound.policy import check_topic, free_text_channel, reachable
from flows import calendar_tips
from flows.catalog import t
from flows.fit import join_lines
from flows.prices import STALE_DAYS, day_label, soles, trend_text
from flows.records import PriceView, lima_date
from models import Contact, Subscription

PRICES_TOPIC, CALENDAR_TOPIC = "prices", "agroecology"
DIGEST_VALID = timedelta(days=2)  # a digest held up longer than this is not sent (prices move)


def _subscribers(session: Session, kind: str) -> dict[Contact, list[Subscription]]:
    """Return consenting, not-stopped contacts with their active subscriptions of `kind`."""
    rows = session.execute(
        select(Contact, Subscription).join(Subscription, Subscription.contact_id == Contact.id)
        .where(Subscription.kind == kind, Subscription.status == "active",
               *reachable())
        .order_by(Contact.id, Subscription.id)).all()
    found: dict[Contact, list[Subscription]] = defaultdict(list)
    for contact, subscription in rows:
        found[contact].append(subscription)
    return found


def week_tag(now: datetime) -> str:
    """Return the ISO year-week of `now` in Lima, e.g. "2026-W48"."""
    year, week, _day_of_week = lima_date(now).isocalendar()
    return f"{year}-W{week:02d}"


def fresh_price(facts: Facts, product: str, region: str | None, now: datetime) -> PriceView | None:
    """Return the newest price of `product` in `region` (else any market) within STALE_DAYS."""
    oldest = lima_date(now) - timedelta(days=STALE_DAYS)
    market_ids = [m.id for m in facts.markets_in(region)] if region else []
    rows = facts.latest_prices(product, "", market_ids) if market_ids else []
    rows = [r for r in rows if r.day >= oldest] or [
        r for r in facts.latest_prices(product) if r.day >= oldest]
    if not rows:
        return None
    return sorted(rows, key=lambda r: (-r.day.toordinal(), r.variety != "", r.market.name))[0]


def price_line(row: PriceView, lang: str) -> str:
    """Return "Papa Huancayo 20/11: 1.00-1.20-1.40 S/ kg, sube 5%" for one price."""
    money = (f"{soles(row.min_cents)}-{soles(row.avg_cents)}-{soles(row.max_cents)}"
             if row.min_cents is not None and row.max_cents is not None else soles(row.avg_cents))
    line = t("digest_line", lang, product=row.label.capitalize(), market=row.market.short,
             date=day_label(row.day), money=money, unit=row.unit)
    trend = trend_text(SimpleNamespace(lang=lang, channel="sms"), row)
    return f"{line}, {trend}" if trend else line


def digest_text(rows: list[PriceView], lang: str) -> str:
    """Return the digest of `rows` in at most two GSM-7 SMS, with the date and source of each."""
    sources = ", ".join(dict.fromkeys(r.source for r in rows))
    tail = f"{t('digest_source', lang, source=sources)} {t('push_stop', lang)}"
    return join_lines(t("digest_head", lang), [price_line(r, lang) for r in rows], tail, "sms",
                      t("price_more", lang))


def send_price_digest(session: Session, now: datetime) -> dict:
    """Queue this week's price digest for each price subscriber; return counts."""
    check_topic(PRICES_TOPIC)
    facts, tag = Facts(session, now), week_tag(now)
    counts = {"contacts": 0, "queued": 0, "nothing_fresh": 0, "products_skipped": 0}
    rows, cache = [], {}
    for contact, subscriptions in _subscribers(session, "prices").items():
        counts["contacts"] += 1
        lang = contact.language or "es"
        prices, seen = [], set()
        for sub in subscriptions:
            if sub.product in seen:
                continue
            seen.add(sub.product)
            where = (sub.product, sub.region or contact.region)
            if where not in cache:  # many people follow the same product in the same region
                cache[where] = fresh_price(facts, *where, now)
            found = cache[where]
            if found is None:
                counts["products_skipped"] += 1  # say nothing rather than show stale data
            else:
                prices.append(found)
        if not prices:
            counts["nothing_fresh"] += 1
            continue
        rows.append(dict(key=f"digest:{tag}:contact:{contact.id}", source="digest",
                         contact_id=contact.id, channel=free_text_channel(contact, now),
                         body=digest_text(prices, lang), topic=PRICES_TOPIC,
                         not_after=now + DIGEST_VALID))
    counts["queued"] = enqueue_many(session, rows, now)
    counts["already_queued"] = len(rows) - counts["queued"]
    return counts


def send_calendar_tips(session: Session, now: datetime) -> dict:
    """Queue this month's calendar tip for each calendar subscriber; return counts."""
    check_topic(CALENDAR_TOPIC)
    today = lima_date(now)
    tag = f"{today.year}-{today.month:02d}"
    month_end = datetime.combine(date(today.year + today.month // 12, today.month % 12 + 1, 1),
                                 time(0, 0), tzinfo=LIMA)  # a tip is never sent in the wrong month
    counts = {"contacts": 0, "queued": 0, "no_tip": 0}
    rows = []
    for contact in _subscribers(session, "calendar"):
        counts["contacts"] += 1
        tip = calendar_tips.tip_for(today.month, contact.region)
        if tip is None:
            counts["no_tip"] += 1
            continue
        rows.append(dict(key=f"calendar:{tag}:contact:{contact.id}", source="calendar",
                         contact_id=contact.id, channel=free_text_channel(contact, now),
                         body=calendar_tips.tip_text(tip, today.month, contact.language or "es"),
                         topic=CALENDAR_TOPIC, not_after=month_end))
    counts["queued"] = enqueue_many(session, rows, now)
    counts["already_queued"] = len(rows) - counts["queued"]
    return counts

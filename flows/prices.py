"""Answer market price questions from imported bulletins; record weekly-digest subscriptions.

Steps (state `prices`)::

    question ──▶ answer (state "offer": AVISAME subscribes) ──▶ done
       └──(no product, or unknown)──▶ "product": numbered list ──(pick)──▶ answer

Every price shown carries its date and source; data older than STALE_DAYS is
labelled as old. SMS replies fit two GSM-7 segments; WhatsApp shows every line. With no
place named, a contact who shared her location gets the market nearest to it.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import timedelta

from flows import followup, onboarding
from flows.location import nearest as nearest_market
from flows.base import Ctx, Effect, Result, State
from flows.catalog import t
from flows.fit import join_lines
from flows.places import REGION_NAMES, place, places_in
from flows.records import NoFacts, PriceView, lima_date
from nlu.rules import normalise

FLOW = "prices"
STALE_DAYS = 7
SAME_PCT = 2  # a smaller change of the average is shown as "igual"
MAX_OPTIONS = 6
STOPWORDS = {"cuanto", "esta", "sta", "precio", "precios", "como", "cuesta", "vale", "para", "kilo",
             "saco", "arroba", "mercado", "hoy", "pagan", "del", "las", "los", "que", "por", "con"}


def start(ctx: Ctx) -> Result:
    """Answer a price question (or menu option 1) from its product and place, if any."""
    ctx = replace(ctx, facts=ctx.facts or NoFacts())
    entities = ctx.parse.entities
    location = entities.get("location") or _place_in_text(ctx.text)
    return answer(ctx, entities.get("product"), location)


def _place_in_text(text: str) -> str | None:
    found = places_in(text)
    return found[0][0] if found else None


def answer(ctx: Ctx, product_text: str | None, location: str | None) -> Result:
    """Return prices of `product_text` near `location`, or ask which product is meant."""
    facts = ctx.facts
    if not product_text:
        exact, guesses = _guesses(ctx, location)
        if exact:
            product_text = exact
        elif guesses:
            return ask_product(ctx, location, guesses, t("price_did_you_mean", ctx.lang))
        else:
            return _ask_without_product(ctx, location)
    found = facts.find_product(product_text)
    if found is None:
        similar = facts.similar_products(product_text)
        lead = t("price_unknown_product", ctx.lang, product=product_text)
        if similar:
            return ask_product(ctx, location, similar, f"{lead} {t('price_did_you_mean', ctx.lang)}")
        return ask_product(ctx, location, facts.products(), f"{lead} {t('price_we_have', ctx.lang)}")
    return show(ctx, *found, location)


def _guesses(ctx: Ctx, location: str | None) -> tuple[str | None, list[str]]:
    """Return a product a word of the message names exactly, else those it almost names."""
    words = [w for w in normalise(ctx.text).split() if len(w) >= 3 and w not in STOPWORDS
             and not (location and w in location.split()) and not place(w)]
    exact = next((w for w in words if ctx.facts.find_product(w)), None)
    if exact:
        return exact, []
    guesses: list[str] = []
    for word in words:
        guesses += [p for p in ctx.facts.similar_products(word) if p not in guesses]
    return None, guesses[:MAX_OPTIONS]


def _ask_without_product(ctx: Ctx, location: str | None) -> Result:
    facts = ctx.facts
    if location:
        markets = facts.markets_at(location)
        options = facts.products([m.id for m in markets]) if markets else []
        if options:
            return ask_product(ctx, location, options,
                               t("price_which_product_at", ctx.lang, place=_place_name(location)))
    options = facts.products()
    if not options:
        return Result([t("price_none_loaded", ctx.lang)], FLOW)
    return ask_product(ctx, location, options, t("price_which_product", ctx.lang))


def ask_product(ctx: Ctx, location: str | None, options: list[str], lead: str) -> Result:
    """Ask which product, with a numbered list the next message can answer."""
    options = options[:MAX_OPTIONS]
    listed = " ".join(f"{n} {name}" for n, name in enumerate(options, 1))
    text = f"{lead} {listed}\n{t('price_example', ctx.lang)}"
    return Result([text], FLOW, State(FLOW, "product", {"options": options, "location": location}))


def show(ctx: Ctx, product: str, variety: str, location: str | None) -> Result:
    """Return the latest prices of a product at a place, the contact's region or anywhere."""
    facts, lang, lead, region = ctx.facts, ctx.lang, "", None
    label = f"{product} {variety}".strip()
    rows: list[PriceView] = []
    if location:
        markets = facts.markets_at(location)
        where = place(location)
        region = markets[0].region if markets else (where[0] if where else None)
        if not markets and region:
            markets = facts.markets_in(region)
            lead = t("price_no_market_at", lang, place=_place_name(location),
                     region=REGION_NAMES.get(region, region))
        rows = facts.latest_prices(product, variety, [m.id for m in markets]) if markets else []
        if not rows:
            lead = t("price_none_at", lang, product=label, place=_place_name(location))
    elif ctx.contact.latitude is not None and ctx.contact.longitude is not None:
        rows = nearest_market(facts.latest_prices(product, variety), ctx.contact.latitude,
                               ctx.contact.longitude)  # the market nearest the point she shared
        lead = t("price_nearest", lang) if rows else ""
    elif ctx.contact.region:
        region = ctx.contact.region
        rows = facts.latest_prices(product, variety, [m.id for m in facts.markets_in(region)])
    if not rows:
        rows = facts.latest_prices(product, variety)
        if rows and lead:
            lead = f"{lead} {t('price_elsewhere', lang)}"
    if not rows:
        text = t("price_none", lang, product=label)
        return ask_product(ctx, location, [p for p in facts.products() if p != product],
                           f"{text} {t('price_we_have', lang)}")
    region = region or rows[0].market.region
    data = {"product": product, "variety": variety, "region": region, "location": location,
            **followup.remembered(ctx)}
    return Result([render(ctx, rows, lead, label)], FLOW, State(FLOW, "offer", data))


def render(ctx: Ctx, rows: list[PriceView], lead: str, label: str) -> str:
    """Return the reply showing `rows`: one market by variety, or several markets."""
    lang, sms = ctx.lang, ctx.channel == "sms"
    newest = max(r.day for r in rows)
    units = {r.unit for r in rows}
    unit = units.pop() if len(units) == 1 else None
    one_market = len({r.market.id for r in rows}) == 1
    if one_market:
        where = rows[0].market.name
        lines = [_line(ctx, r, r.variety or r.product, unit, newest) for r in rows]
        others = ""
    else:
        where = t("price_markets", lang)
        main = _main_variety(rows) if sms else None
        shown = [r for r in rows if main is None or (r.variety, r.unit) == main]
        names = {r.market.short for r in shown}
        lines = [_line(ctx, r, r.market.short if (sms or len(names) == len(shown))
                       else f"{r.market.short} {r.variety}".strip(), unit, newest) for r in shown]
        if main and main[0]:
            label = f"{rows[0].product} {main[0]}"
        rest = sorted({r.variety for r in rows if main and r.variety and r.variety != main[0]})
        others = t("price_other_varieties", lang, varieties=", ".join(rest)) if rest else ""
    unit_text = t("price_unit", lang, unit=unit) if unit else ""
    head = t("price_head", lang, product=label.capitalize(), where=where, date=day_label(newest, True),
             unit=unit_text)
    if newest < lima_date(ctx.now) - timedelta(days=STALE_DAYS):
        head = f"{t('price_stale', lang, date=day_label(newest, True))} {head}"
    if lead:
        head = f"{lead}\n{head}"
    sources = ", ".join(dict.fromkeys(r.source for r in rows))
    tail = "\n".join(part for part in [others, t("price_source", lang, source=sources),
                                       t("price_offer", lang)] if part)
    return join_lines(head, lines, tail, ctx.channel, t("price_more", lang))


def _main_variety(rows: list[PriceView]) -> tuple[str, str]:
    counts = Counter((r.variety, r.unit) for r in rows)
    return max(counts, key=lambda v: (counts[v], v == ("", rows[0].unit)))


def _line(ctx: Ctx, row: PriceView, name: str, unit: str | None, newest) -> str:
    money = (f"{soles(row.min_cents)}-{soles(row.avg_cents)}-{soles(row.max_cents)}"
             if row.min_cents is not None and row.max_cents is not None
             else t("price_avg_only", ctx.lang, avg=soles(row.avg_cents)))
    parts = [f"{name}: {money}"]
    if unit is None:
        parts.append(t("price_per_unit", ctx.lang, unit=row.unit))
    trend = trend_text(ctx, row)
    if trend:
        parts.append(trend)
    if row.day != newest:
        parts.append(f"({day_label(row.day)})")
    return " ".join(parts)


def trend_text(ctx: Ctx, row: PriceView) -> str:
    if not row.previous_avg_cents:
        return ""
    change = (row.avg_cents - row.previous_avg_cents) * 100 / row.previous_avg_cents
    key = "price_same" if abs(change) < SAME_PCT else ("price_up" if change > 0 else "price_down")
    text = t(key, ctx.lang, pct=round(abs(change)))
    if ctx.channel == "sms":
        return text
    return f"{text} {t('price_vs', ctx.lang, date=day_label(row.previous_day))}"


def soles(cents: int) -> str:
    return f"{cents / 100:.2f}"


def day_label(day, year: bool = False) -> str:
    return day.strftime("%d/%m/%Y" if year else "%d/%m")


def _place_name(location: str) -> str:
    where = place(location)
    if where and where[1] is None:
        return REGION_NAMES.get(where[0], location.title())
    return location.title()


def step(ctx: Ctx) -> Result | None:
    """Take the answer to a product list or a subscription offer; None lets others answer."""
    ctx = replace(ctx, facts=ctx.facts or NoFacts())
    data = ctx.state.data
    if ctx.state.step == "offer":
        if followup.is_followup(ctx, followup.PRICE_WORDS):  # "y en lima?", "y la quinua?"
            named = ctx.parse.entities
            product = named.get("product") or f"{data['product']} {data.get('variety', '')}".strip()
            return answer(ctx, product, named.get("location") or data.get("location"))
        if ctx.parse.entities.get("hazard") or ctx.parse.entities.get("product"):
            return None  # names what to receive: the router's subscribe reads it
        if ctx.answer in onboarding.SUBSCRIBE_WORDS or ctx.parse.intent == "subscribe":
            return subscribe(ctx, data["product"], data.get("region"))
        return None
    options, typed = data.get("options", []), ctx.answer
    location = ctx.parse.entities.get("location") or data.get("location")
    if typed.isdigit() and 1 <= int(typed) <= len(options):
        return answer(ctx, options[int(typed) - 1], location)
    product = ctx.parse.entities.get("product") or (typed if ctx.facts.find_product(typed) else None)
    if product:
        return answer(ctx, product, location)
    if ctx.parse.intent not in {"ask_price", "out_of_scope"} and not ctx.parse.low_confidence:
        return None  # another question: let the router answer it
    exact, guesses = _guesses(ctx, location)
    if exact:
        return answer(ctx, exact, location)
    if guesses:
        return ask_product(ctx, location, guesses, t("price_did_you_mean", ctx.lang))
    return None


def subscribe(ctx: Ctx, product: str, region: str | None) -> Result:
    """Record a weekly price digest for `product`, after consent (and region) if still missing."""
    region = region or ctx.contact.region
    values = {"kind": "prices", "product": product, "hazard": "", "region": region or ""}
    what = t("price_digest", ctx.lang, product=product)
    if ctx.contact.has_consent and region:
        text = t("subscribed", ctx.lang, what=what, region=REGION_NAMES.get(region, region))
        return Result([text], FLOW, effects=[Effect("subscribe", values)])
    return onboarding.start(ctx, "subscribe", subscription={"values": values, "what": what})

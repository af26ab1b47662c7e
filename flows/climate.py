"""Answer climate questions with the active, unexpired warnings of a region; record alert subscriptions.

Steps (state `climate`)::

    question ──(region known)──▶ warnings or "none active" (state "offer": AVISAME, MAS)
       └──(no region)──▶ "region": which department? ──(answer)──▶ warnings

Regions come from the place named, else the contact's region. Every warning
shown carries its level, validity, what to do, its source and when it was sent.
"""
from __future__ import annotations

from dataclasses import replace

from flows import followup, onboarding
from flows.base import Ctx, Effect, Result, State
from flows.catalog import t
from flows.fit import fits, shorten
from flows.places import REGION_NAMES, place, places_in
from flows.records import AlertView, NoFacts, lima_time

FLOW = "climate"
MORE_WORDS = {"mas", "más", "otra", "otro", "siguiente", "aswan"}
HAZARD_NAMES = {"helada": "heladas", "friaje": "friaje", "lluvia": "lluvias", "granizo": "granizo",
                "nevada": "nevadas", "sequia": "sequía", "viento": "vientos fuertes"}


def start(ctx: Ctx) -> Result:
    """Answer a climate question (or menu option 2) for the place named or the contact's region."""
    ctx = replace(ctx, facts=ctx.facts or NoFacts())
    hazard = ctx.parse.entities.get("hazard")
    location = ctx.parse.entities.get("location")
    if not location:
        named = places_in(ctx.text)
        location = named[0][0] if named else None
    if location:
        where = place(location)
        if where is None:
            return ask_region(ctx, hazard, t("climate_unknown_place", ctx.lang, place=location.title()))
        return warnings(ctx, where[0], hazard)
    if ctx.contact.region:
        return warnings(ctx, ctx.contact.region, hazard)
    return ask_region(ctx, hazard, "")


def ask_region(ctx: Ctx, hazard: str | None, lead: str) -> Result:
    text = f"{lead} {t('region_ask', ctx.lang)}".strip()
    return Result([text], FLOW, State(FLOW, "region", {"hazard": hazard}))


def warnings(ctx: Ctx, region: str, hazard: str | None, skip: int = 0) -> Result:
    """Return the active warnings for `region` (and `hazard`), the worst first."""
    lang, region_name = ctx.lang, REGION_NAMES.get(region, region)
    alerts = ctx.facts.active_alerts(region, hazard)
    data = {"region": region, "hazard": hazard, "shown": skip, **followup.remembered(ctx)}
    if not alerts:
        what = t("climate_hazard", lang, hazard=HAZARD_NAMES[hazard]) if hazard else ""
        text = t("climate_none", lang, what=what, region=region_name,
                 checked=lima_time(ctx.now, with_year=True))
        others = ctx.facts.active_alerts(region) if hazard else []
        if others:
            text = f"{text} {t('climate_others', lang, n=len(others))}"
            data["hazard"] = None
        return Result([f"{text}\n{t('climate_offer', lang)}"], FLOW, State(FLOW, "offer", data))
    if ctx.channel != "sms":
        body = "\n\n".join(_long(ctx, alert) for alert in alerts)
        return Result([f"{body}\n\n{t('climate_offer', lang)}"], FLOW, State(FLOW, "offer", data))
    if skip >= len(alerts):
        text = t("climate_no_more", lang, region=region_name)
        return Result([f"{text}\n{t('climate_offer', lang)}"], FLOW, State(FLOW, "offer", data))
    alert = alerts[skip]
    left = len(alerts) - 1
    data["shown"] = skip + 1
    tail = t("climate_more", lang, n=left) if left else t("climate_offer", lang)
    return Result([_short(ctx, alert, region_name, tail)], FLOW, State(FLOW, "offer", data))


def validity_text(ctx: Ctx, alert: AlertView) -> str:
    return t("climate_validity", ctx.lang, start=lima_time(alert.starts_at), end=lima_time(alert.ends_at))


def source_text(ctx: Ctx, alert: AlertView) -> str:
    text = t("climate_source", ctx.lang, source=alert.source, sent=lima_time(alert.sent))
    return text if alert.confirmed else f"{text} {t('climate_unconfirmed', ctx.lang)}"


def title_text(ctx: Ctx, alert: AlertView, region_name: str) -> str:
    level = t(f"level_{alert.level}", ctx.lang) if alert.level else t("level_unknown", ctx.lang)
    return t("climate_title", ctx.lang, level=level, event=alert.event, region=region_name)


def _short(ctx: Ctx, alert: AlertView, region_name: str, tail: str) -> str:
    """Return one warning in at most two GSM-7 SMS, shortening the instruction if needed."""
    head = f"{title_text(ctx, alert, region_name)} {validity_text(ctx, alert)}"
    end = f"{source_text(ctx, alert)}\n{tail}"
    todo = alert.instruction or alert.headline or ""
    for room in range(len(todo), -1, -10):
        action = t("climate_todo", ctx.lang, instruction=shorten(todo, room)) if room > 10 else ""
        text = "\n".join(part for part in (head, action, end) if part)
        if fits(text, "sms"):
            return text
    return "\n".join((head, end))


def _long(ctx: Ctx, alert: AlertView) -> str:
    """Return one warning with headline, description, areas and instruction (WhatsApp)."""
    regions = ", ".join(REGION_NAMES.get(r, r) for r in alert.regions)
    parts = [f"*{title_text(ctx, alert, regions)}*", alert.headline, validity_text(ctx, alert),
             alert.description, t("climate_areas", ctx.lang, areas="; ".join(alert.areas)),
             t("climate_todo", ctx.lang, instruction=alert.instruction) if alert.instruction else None,
             source_text(ctx, alert)]
    return "\n".join(p for p in parts if p)


def step(ctx: Ctx) -> Result | None:
    """Take a region, MAS (next warning) or AVISAME (subscribe); None lets others answer."""
    ctx = replace(ctx, facts=ctx.facts or NoFacts())
    data = ctx.state.data
    if ctx.state.step == "region":
        region = onboarding.parse_region(ctx.text) or onboarding.parse_region(
            ctx.parse.entities.get("location") or "")
        if region is None:
            found = place(ctx.parse.entities.get("location") or "") or next(
                (where for _n, where in places_in(ctx.text)), None)
            region = found[0] if found else None
        return warnings(ctx, region, data.get("hazard")) if region else None
    if ctx.answer in MORE_WORDS:
        return warnings(ctx, data["region"], data.get("hazard"), skip=data.get("shown", 0))
    if followup.is_followup(ctx, followup.TIME_WORDS) and not ctx.parse.entities.get("product"):
        where = place(ctx.parse.entities.get("location") or "")  # "y en cusco?", "y mañana?"
        return warnings(ctx, where[0] if where else data["region"],
                        ctx.parse.entities.get("hazard") or data.get("hazard"))
    if ctx.parse.entities.get("hazard") or ctx.parse.entities.get("product"):
        return None  # names what to receive: the router's subscribe reads it
    if ctx.answer in onboarding.SUBSCRIBE_WORDS or ctx.parse.intent == "subscribe":
        return subscribe(ctx, data.get("hazard"), data["region"])
    return None


def subscribe(ctx: Ctx, hazard: str | None, region: str | None) -> Result:
    """Record alerts for `hazard` (every hazard when None) in `region`, after consent if missing."""
    region = region or ctx.contact.region
    values = {"kind": "alerts", "product": "", "hazard": hazard or "", "region": region or ""}
    what = t("climate_digest", ctx.lang,
             hazard=HAZARD_NAMES[hazard] if hazard else t("climate_all_hazards", ctx.lang))
    if ctx.contact.has_consent and region:
        text = t("subscribed", ctx.lang, what=what, region=REGION_NAMES.get(region, region))
        return Result([text], FLOW, effects=[Effect("subscribe", values)])
    return onboarding.start(ctx, "subscribe", subscription={"values": values, "what": what})

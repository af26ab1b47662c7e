"""The agroecological calendar: one sourced tip a month per region; subscribing to it.

Tips live in flows/data/calendar.yml (month, regions or "all", text, sources);
the monthly job in bot/proactive/digests.py sends them to contacts subscribed to kind "calendar".
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import yaml

from flows import onboarding
from flows.base import Ctx, Effect, Result
from flows.catalog import t
from flows.places import REGION_NAMES
from nlu.rules import normalise

FLOW = "calendar"
CALENDAR_FILE = Path(__file__).resolve().parent / "data" / "calendar.yml"
TIPS_WORDS = re.compile(r"\b(consejos?|tips?|calendario|recomendaciones)\b")


@lru_cache(maxsize=1)
def calendar() -> dict:
    """Return the parsed calendar file."""
    with CALENDAR_FILE.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def tip_for(month: int, region: str | None) -> dict | None:
    """Return the tip of `month` for `region` (a region's own tip first, then "all"), or None."""
    tips = [tip for tip in calendar()["tips"] if tip["month"] == month]
    for tip in tips:
        if tip["regions"] != "all" and region in tip["regions"]:
            return tip
    return next((tip for tip in tips if tip["regions"] == "all"), None)


def tip_text(tip: dict, month: int, lang: str) -> str:
    """Return the message of a tip: month, text, source, how to stop."""
    head = t("calendar_head", lang, month=t(f"month_{month}", lang))
    return "\n".join([f"{head} {tip['text']}", t("calendar_source", lang, source=tip["short_source"]),
                      t("push_stop", lang)])


def wants_tips(ctx: Ctx) -> bool:
    """Tell whether a subscribe request is about farming tips (the calendar)."""
    return bool(TIPS_WORDS.search(normalise(ctx.text)))


def subscribe(ctx: Ctx) -> Result:
    """Record the monthly calendar tip, after consent (and region) if still missing."""
    values = {"kind": "calendar", "product": "", "hazard": "", "region": ctx.contact.region or ""}
    what = t("calendar_digest", ctx.lang)
    if ctx.contact.has_consent and ctx.contact.region:
        text = t("subscribed", ctx.lang, what=what,
                 region=REGION_NAMES.get(ctx.contact.region, ctx.contact.region))
        return Result([text], FLOW, effects=[Effect("subscribe", values)])
    return onboarding.start(ctx, "subscribe", subscription={"values": values, "what": what})

"""Where to sell: agroecological fairs, biomercados and SGP groups by region, from the
sourced, dated directory flows/data/markets.yml (R4).

"donde puedo vender" ──(region known: named, or her profile)──▶ the region's markets
        └──(region unknown)──▶ asks the department (1-8) ──▶ the region's markets
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from flows.base import Ctx, Result, State
from flows.catalog import t
from flows.gsm7 import segment_count, to_gsm7
from flows.places import REGION_NAMES, REGIONS, place, places_in
from nlu.rules import normalise

FLOW = "markets"
MARKETS_FILE = Path(__file__).resolve().parent / "data" / "markets.yml"
SMS_SEGMENTS, WHATSAPP_ITEMS = 2, 6
_ASKS = (re.compile(r"\b(donde|adonde|a quien|a quienes|en que sitio)\b.*\bvend"),
         re.compile(r"\bvend\w*\b.*\b(donde|feria|ferias|biomercado|biomercados)\b"),
         re.compile(r"\b(donde|cuando|hay)\b.*\b(feria|ferias|biomercado|biomercados)\b"),
         re.compile(r"\b(feria|ferias|biomercado|biomercados)\b.*\b(donde|cuando|hay)\b"))


@dataclass(frozen=True)
class Market:
    """One fair, biomercado or sale point a public source names."""

    name: str
    department: str
    province: str | None
    place: str
    days: str
    source: str
    source_date: str
    url: str | None
    checked: str

    @property
    def short_source(self) -> str:
        """Return who published the source and when, short enough for an SMS."""
        who = re.split(r"[,'\"(:]", self.source, maxsplit=1)[0].strip()[:40]
        return f"{who} {self.source_date[:4]}".strip()


def _days(entry: dict) -> str:
    days = entry.get("days", entry.get("day", ""))
    return ", ".join(str(d) for d in days) if isinstance(days, list) else str(days or "")


@lru_cache(maxsize=4)
def load(path: Path = MARKETS_FILE) -> tuple[Market, ...]:
    """Return every market of the directory file (none when the file is missing)."""
    if not path.exists():
        return ()
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    entries = data.get("markets", []) if isinstance(data, dict) else data
    return tuple(Market(e["name"], e["department"], e.get("province"), e.get("place") or "",
                        _days(e), e["source"], str(e.get("source_date", "")), e.get("url"),
                        str(e.get("checked", ""))) for e in entries)


def markets() -> tuple[Market, ...]:
    """Return the directory the bot answers from."""
    return load(MARKETS_FILE)


def in_region(region: str) -> list[Market]:
    """Return the markets of a department."""
    return [m for m in markets() if m.department == region]


def asks_where_to_sell(text: str) -> bool:
    """Tell whether `text` asks where to sell produce ("donde puedo vender mis papas")."""
    norm = normalise(text)
    return any(p.search(norm) for p in _ASKS)


def _region(ctx: Ctx) -> str | None:
    named = ctx.parse.entities.get("location")
    found = place(named) if named else None
    if not found:
        hits = places_in(ctx.text)
        found = hits[0][1] if hits else None
    if not found:  # a department of the directory outside the program's eight ("en ayacucho")
        words = set(normalise(ctx.text).split())
        found = next(((m.department, None) for m in markets() if m.department in words), None)
    return found[0] if found else ctx.contact.region


def start(ctx: Ctx) -> Result:
    """Answer "where can I sell" for her region, or ask the region first."""
    region = _region(ctx)
    if region is None:
        return Result([t("market_ask_region", ctx.lang)], FLOW, State(FLOW, "region"))
    return answer(ctx, region)


def answer(ctx: Ctx, region: str) -> Result:
    """List the region's markets (two by SMS, more on WhatsApp) with the source and its date."""
    found = in_region(region)
    name = REGION_NAMES.get(region, region)
    if not found:
        return Result([t("market_none", ctx.lang, region=name)], FLOW, None)
    text = ""
    for count in range(1, min(len(found), WHATSAPP_ITEMS) + 1):
        candidate = _listing(ctx, name, found[:count])
        if ctx.channel != "whatsapp" and count > 1 and segment_count(to_gsm7(candidate)) > SMS_SEGMENTS:
            break  # by SMS: as many as fit in two segments
        text = candidate
    return Result([text], FLOW, None)


def _listing(ctx: Ctx, region_name: str, shown: list[Market]) -> str:
    lines = [t("market_head", ctx.lang, region=region_name)]
    lines += [t("market_item", ctx.lang, name=m.name, place=m.place, days=m.days.rstrip("."))
              for m in shown]
    sources = "; ".join(dict.fromkeys(m.short_source for m in shown))
    lines.append(t("market_check", ctx.lang, source=sources))
    return "\n".join(lines)


def step(ctx: Ctx) -> Result | None:
    """Take the department after the question; None lets the router decide."""
    if ctx.state.step != "region":
        return None
    if ctx.answer.isdigit() and 1 <= int(ctx.answer) <= len(REGIONS):
        return answer(ctx, REGIONS[int(ctx.answer) - 1])
    hits = places_in(ctx.text)
    return answer(ctx, hits[0][1][0]) if hits else None

"""First answer to anyone who may be facing violence: emergency numbers, always.

DESIGN.md safety rules: the first reply carries 105 and Línea 100; neutral
wording; bodies of this conversation are never stored; never a proactive
follow-up. The directory of Centros Emergencia Mujer comes with the support topic.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

from flows import handoff
from flows.base import Ctx, Result, State
from flows.catalog import t

FLOW = "support"
LINES_FILE = Path(__file__).resolve().parent / "data" / "support_lines.yml"


@lru_cache(maxsize=1)
def support_numbers() -> dict:
    """Return {"police": "105", "line100": "100"} from the sourced, dated directory."""
    with LINES_FILE.open(encoding="utf-8") as fh:
        lines = {line["id"]: line for line in yaml.safe_load(fh)["lines"]}
    return {"police": lines["police"]["number"], "line100": lines["linea100"]["number"]}


def emergency_text(language: str = "es") -> str:
    """Return the first reply to anyone who may be facing violence."""
    return t("emergency", language, **support_numbers())


def emergency(ctx: Ctx) -> Result:
    """Give the emergency numbers and offer a person."""
    return Result([emergency_text(ctx.lang)], FLOW, State(FLOW, "options"), sensitive=True)


def step(ctx: Ctx) -> Result | None:
    """Handle the answer to the emergency reply's options."""
    if ctx.answer in {"1", "si", "ari"} or ctx.parse.intent in {"affirm", "human_handoff"}:
        return handoff.request(ctx, urgent=True, topic="support")
    return None

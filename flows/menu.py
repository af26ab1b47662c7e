"""Main menu and small talk."""
from __future__ import annotations

from flows.base import Ctx, Result
from flows.catalog import t
from flows.options import numbered


def with_menu(ctx: Ctx, lead_key: str | None = None, **values) -> str:
    """Return the numbered main menu (Choices) under a header, or under one short line when given."""
    lead = t(lead_key, ctx.lang, **values) if lead_key else t("menu_header", ctx.lang)
    items = t("menu", ctx.lang)
    answers = tuple(line.split(" ", 1)[0] for line in items.splitlines() if line[:1].isdigit())
    return numbered(f"{lead}\n{items}", answers)


def show(ctx: Ctx) -> Result:
    return Result([with_menu(ctx)], "menu")


def greet(ctx: Ctx) -> Result:
    return Result([with_menu(ctx, "greet")], "menu")


def thanks(ctx: Ctx) -> Result:
    return Result([t("thanks", ctx.lang)], "smalltalk")


def goodbye(ctx: Ctx) -> Result:
    return Result([t("goodbye", ctx.lang)], "smalltalk")


def not_understood(ctx: Ctx) -> Result:
    lead = "nlu_down" if ctx.parse.nlu_down else "not_understood"
    return Result([with_menu(ctx, lead)], "menu")


def media_only(ctx: Ctx) -> Result:
    return Result([t("media_only", ctx.lang)], "menu")

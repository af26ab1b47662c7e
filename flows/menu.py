"""Main menu, small talk and the topics that are not built yet."""
from __future__ import annotations

from flows.base import Ctx, Result
from flows.catalog import t

TOPIC_KEYS = {
    "ask_price": "topic_prices",
    "ask_climate": "topic_climate",
    "ask_agroecology": "topic_agroecology",
}


def with_menu(ctx: Ctx, lead_key: str | None = None, **values) -> str:
    """Return the numbered main menu under a header, or under one short line when given."""
    lead = t(lead_key, ctx.lang, **values) if lead_key else t("menu_header", ctx.lang)
    return f"{lead}\n{t('menu', ctx.lang)}"


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


def topic_not_ready(ctx: Ctx) -> Result:
    """Route a topic question to the menu, saying the topic is still being prepared."""
    topic = t(TOPIC_KEYS[ctx.parse.intent], ctx.lang)
    return Result([with_menu(ctx, "topic_soon", topic=topic)], "menu")


def media_only(ctx: Ctx) -> Result:
    return Result([t("media_only", ctx.lang)], "menu")

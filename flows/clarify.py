"""Ask a short numbered question when the model is unsure, instead of guessing.

Below ``nlu_min_confidence`` the router calls :func:`ask`: the top intents of
the model's ranking that the bot can act on become numbered options (menu
words), "0" always leads to the full menu. The next message "1", "2"... picks
one: :func:`chosen_intent` returns it and the router answers as if the model
had been sure, with the entities of the first message kept in the state.
"""
from __future__ import annotations

from dataclasses import replace

from flows.base import Ctx, Result, State
from flows.catalog import t
from flows.options import build

FLOW = "clarify"
MAX_OPTIONS = 3
# Intent -> text key of its menu word. Small talk, yes/no and out_of_scope are
# never offered (nothing to choose); opt-out is never offered as a guess.
OPTION_KEYS = {
    "ask_price": "option_prices",
    "ask_climate": "option_climate",
    "ask_agroecology": "option_agroecology",
    "gbv_support": "option_support",
    "subscribe": "option_subscribe",
    "human_handoff": "option_person",
    "change_language": "option_language",
    "opt_in": "option_opt_in",
}


def options(ranking, limit: int = MAX_OPTIONS) -> list[str]:
    """Return the intents to offer: the best-ranked ones the bot can act on, at most `limit`."""
    offered: list[str] = []
    for intent, _confidence in ranking:
        if intent in OPTION_KEYS and intent not in offered:
            offered.append(intent)
        if len(offered) == limit:
            break
    return offered


def question(language: str, offered: list[str]) -> str:
    """Return the clarifying question (Choices) with numbered options and 0 for the menu."""
    options = [(str(n), t(OPTION_KEYS[intent], language)) for n, intent in enumerate(offered, 1)]
    return build(t("clarify_ask", language), [*options, ("0", t("option_menu", language))])


def ask(ctx: Ctx) -> Result | None:
    """Return the clarifying question for this unsure parse, or None when nothing fits."""
    offered = options(ctx.parse.ranking)
    if not offered:
        return None
    data = {"options": offered, "entities": dict(ctx.parse.entities)}
    # A possible cry for help among the options: keep the turn out of the logs.
    return Result([question(ctx.lang, offered)], FLOW, State(FLOW, "choose", data),
                  sensitive="gbv_support" in offered)


def chosen_intent(ctx: Ctx) -> str | None:
    """Return the intent picked by the answer ("1", "2"...), or None if it is not a choice."""
    offered = (ctx.state.data or {}).get("options", []) if ctx.state else []
    answer = ctx.answer
    if answer.isdigit() and 1 <= int(answer) <= len(offered):
        return offered[int(answer) - 1]
    return None


def resolved(ctx: Ctx, intent: str) -> Ctx:
    """Return the turn as if the model had been sure of `intent`, with the first message's entities."""
    entities = dict((ctx.state.data or {}).get("entities", {})) if ctx.state else {}
    parse = replace(ctx.parse, intent=intent, confidence=1.0, entities=entities,
                    source="clarify", rule=None, digit=None, low_confidence=False)
    return replace(ctx, parse=parse, state=None)

"""Support for anyone who may be facing violence: numbers first, then three options.

Safety rules: the first reply always carries 105 and Línea 100;
later replies use neutral words, safe on a shared phone; a quick exit word
(CHAU) ends the conversation with an ordinary goodbye; bodies of this
conversation are never stored; nothing here schedules a message (the only
effect is the hand-off the person asks for).

    (emergency words, menu 4) ──▶ options ──1──▶ nearest centre (asks the province if unknown)
                                     │  ──2──▶ what to do now
                                     │  ──3──▶ urgent hand-off (ends)
                                     └─ CHAU / MENU / STOP ──▶ ends
"""
from __future__ import annotations

from flows import directory, handoff
from flows.base import Ctx, Result, State
from flows.catalog import t
from flows.options import numbered

FLOW = "support"
LINES_FILE = directory.LINES_FILE
# Quick exit: an everyday goodbye, so a phone shows nothing unusual. Not SALIR,
# which is an opt-out word (STOP) in nlu/rules.py.
EXIT_WORDS = frozenset({"chau", "chao", "adios", "bye", "tupananchiskama"})
PERSON_ANSWERS = frozenset({"3", "5", "si", "ari", "persona"})


def emergency_text(language: str = "es") -> str:
    """Return the first reply to anyone who may be facing violence."""
    return t("emergency", language, **directory.support_numbers())


def _result(ctx: Ctx, text: str, step: str | None = "options", **data) -> Result:
    state = State(FLOW, step, {**(ctx.state.data if ctx.state else {}), **data}) if step else None
    return Result([text], FLOW, state, sensitive=True)


def emergency(ctx: Ctx) -> Result:
    """Give the emergency numbers and the three options."""
    return Result([numbered(emergency_text(ctx.lang), 3)], FLOW, State(FLOW, "options"),
                  sensitive=True)


def leave(ctx: Ctx) -> Result:
    """End the conversation with an ordinary goodbye that says nothing of its topic."""
    return Result([t("goodbye", ctx.lang)], FLOW, None, sensitive=True)


def guidance(ctx: Ctx) -> Result:
    """Say what to do now: short, safe steps (sources in support_lines.yml `guidance`)."""
    return _result(ctx, t("support_guidance", ctx.lang, **directory.support_numbers()))


def centre(ctx: Ctx) -> Result:
    """Give the nearest centre, asking for the province when it is not known."""
    place = (ctx.state.data.get("place") if ctx.state else None) or directory.parse_place(
        ctx.contact.province or "")
    if not place:
        return _result(ctx, t("support_ask_place", ctx.lang), "place")
    return _centre_reply(ctx, place)


def _centre_reply(ctx: Ctx, place: str | None) -> Result:
    numbers = directory.support_numbers()
    found = directory.nearest(place)
    if not found:
        return _result(ctx, t("support_no_centre", ctx.lang, **numbers), place=place)
    lines = []
    for item in found[:2]:
        details = ", ".join(x for x in (item.address, item.hours) if x)
        lines.append(f"{item.name}: {details}." if details else f"{item.name}.")
    text = " ".join(lines) + " " + t("support_confirm", ctx.lang, **numbers)
    return _result(ctx, text, place=place)


def step(ctx: Ctx) -> Result:
    """Handle every answer inside the support conversation."""
    answer = ctx.answer
    if answer in EXIT_WORDS:  # the words only: the model once heard "vivo en canchis" as goodbye
        return leave(ctx)
    if ctx.state.step == "place" and answer not in {"1", "2", "3"}:
        typed = directory.parse_place(ctx.text)
        return _centre_reply(ctx, typed or directory.parse_place(
            ctx.parse.entities.get("location") or ""))
    if answer == "1":
        return centre(ctx)
    if answer == "2":
        return guidance(ctx)
    if answer in PERSON_ANSWERS or ctx.parse.intent in {"affirm", "human_handoff"}:
        return handoff.request(ctx, urgent=True, topic=FLOW)
    return _result(ctx, numbered(t("support_options", ctx.lang, **directory.support_numbers()), 3))

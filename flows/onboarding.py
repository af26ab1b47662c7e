"""Ask for consent, language and region, only when the bot must remember something.

Steps run in order, skipping what is already known::

    consent ──▶ language ──▶ region ──▶ done (saved)
       └─(no)─▶ done (nothing stored)

A wrong answer is asked again once; a second wrong answer ends the flow so the
message is handled as a new question.
"""
from __future__ import annotations

from flows import location
from flows.base import Ctx, Effect, Result, State
from flows.catalog import LANGUAGES, language_name, t
from flows.options import Choices, numbered
from nlu.rules import normalise

FLOW = "onboarding"
ASK_KEY = {"consent": "consent_ask", "language": "language_ask", "region": "region_ask"}
ASK_OPTIONS = {"consent": 2, "language": 3, "region": 8}  # how many numbered answers each has
REGIONS = ("ancash", "arequipa", "cusco", "huancavelica", "junin", "lima", "piura", "puno")
REGION_NAMES = {
    "ancash": "Áncash", "arequipa": "Arequipa", "cusco": "Cusco", "huancavelica": "Huancavelica",
    "junin": "Junín", "lima": "Lima", "piura": "Piura", "puno": "Puno",
}
REGION_ALIASES = {"cuzco": "cusco", "qosqo": "cusco", "huaraz": "ancash"}
LANGUAGE_ANSWERS = {
    "1": "es", "espanol": "es", "castellano": "es", "español": "es",
    "2": "qu", "quechua": "qu", "runasimi": "qu", "runa simi": "qu", "qichwa": "qu",
    "3": "ay", "aymara": "ay", "aimara": "ay", "aymar aru": "ay",
}
# Answers to "AVISAME: ..." after a price or an alert that mean "yes, send it to me".
SUBSCRIBE_WORDS = {"avisame", "avisenme", "avisa", "suscribir", "suscribirme", "si", "ya", "ok",
                   "quiero", "ari", "willaway"}
YES = {"1", "si", "sí", "ari", "arí", "ok", "ya", "acepto", "jisa"}
NO = {"2", "no", "manam", "mana", "janiw"}


def start(ctx: Ctx, purpose: str, preset: dict | None = None,
          subscription: dict | None = None) -> Result:
    """Begin onboarding for `purpose` ("subscribe" or "language"), skipping known answers.

    `subscription` ({"values": ..., "what": text}) is recorded at the end, once
    consent (and a region, when it has none) is given.
    """
    data = {"purpose": purpose, "answers": dict(preset or {}), "retried": False}
    if subscription:
        data["subscription"] = subscription
    return _next(ctx, data, effects=[])


def _needed(ctx: Ctx, data: dict) -> list[str]:
    answers = data["answers"]
    needed = [] if ctx.contact.has_consent or answers.get("consent") else ["consent"]
    if "language" not in answers and (data["purpose"] == "language" or not ctx.contact.has_consent):
        needed.append("language")
    has_region = ctx.contact.region or (data.get("subscription") or {}).get("values", {}).get("region")
    if data["purpose"] == "subscribe" and not has_region and "region" not in answers:
        needed.append("region")
    return needed


def _next(ctx: Ctx, data: dict, effects: list[Effect]) -> Result:
    needed = _needed(ctx, data)
    if needed:
        step = needed[0]
        data = {**data, "retried": False}
        text = _ask(step, _lang(ctx, data))
        if step == "region" and ctx.channel == "whatsapp":  # a location answers it too
            hint = t("region_ask_location", _lang(ctx, data))
            text = (Choices(f"{text} {hint}", f"{text.prompt} {hint}", text.options)
                    if isinstance(text, Choices) else f"{text} {hint}")
        return Result([text], FLOW, State(FLOW, step, data), effects)
    return _finish(ctx, data, effects)


def _ask(step: str, lang: str) -> str:
    """Return the question of `step` with its numbered answers (Choices when they can be read)."""
    return numbered(t(ASK_KEY[step], lang), ASK_OPTIONS[step])


def _lang(ctx: Ctx, data: dict) -> str:
    return data["answers"].get("language") or ctx.lang


def _finish(ctx: Ctx, data: dict, effects: list[Effect]) -> Result:
    answers = data["answers"]
    profile = {k: answers[k] for k in ("language", "region") if k in answers}
    located = dict(answers.get("located") or {})  # a location sent as the region's answer
    place_name = located.pop("place", None)
    profile.update(located)
    if profile:
        effects = [*effects, Effect("set_profile", profile)]
    lang = _lang(ctx, data)
    if data["purpose"] == "language":
        return Result([t("language_set", lang)], FLOW, effects=effects)
    region = answers.get("region") or ctx.contact.region
    subscription = data.get("subscription")
    if subscription:
        values = {**subscription["values"]}
        values["region"] = values.get("region") or region or ""
        region = values["region"]
        effects = [*effects, Effect("subscribe", values)]
        text = t("subscribed", lang, what=subscription["what"],
                 region=REGION_NAMES.get(region, region or "-"))
        return Result([text], FLOW, effects=effects)
    text = t("saved_profile", lang, language_name=language_name(lang),
             region_name=place_name or REGION_NAMES.get(region, region or "-"))
    return Result([text], FLOW, effects=effects)


def parse_region(answer: str) -> str | None:
    """Return the canonical region of a typed answer (digit or name), or None."""
    answer = normalise(answer).replace("ñ", "n")
    if answer.isdigit() and 1 <= int(answer) <= len(REGIONS):
        return REGIONS[int(answer) - 1]
    answer = REGION_ALIASES.get(answer, answer)
    return answer if answer in REGIONS else None


def _read(ctx: Ctx, step: str):
    answer = ctx.answer
    if step == "consent":
        if answer in YES or ctx.parse.intent == "affirm":
            return True
        if answer in NO or ctx.parse.intent == "deny":
            return False
        return None
    if step == "language":
        value = LANGUAGE_ANSWERS.get(answer) or ctx.parse.entities.get("language")
        return value if value in LANGUAGES else None
    return parse_region(answer) or parse_region(ctx.parse.entities.get("location") or "")


def _read_location(ctx: Ctx) -> dict | None:
    """Return the profile values of a location sent as the answer to the region question."""
    if ctx.location is None:
        return None
    where = location.locate(ctx.location.latitude, ctx.location.longitude)
    if where.status != "ok":
        return None
    return {**location.profile(where, ctx.location), "place": location.place_text(where)}


def step(ctx: Ctx) -> Result | None:
    """Take the answer to the current question and ask the next one."""
    data, current = ctx.state.data, ctx.state.step
    located = _read_location(ctx) if current == "region" else None
    value = located["region"] if located else _read(ctx, current)
    if value is None:
        if data.get("retried"):
            return None
        ask, lead = _ask(current, _lang(ctx, data)), t("retry", _lang(ctx, data))
        retry = ask.led_by(lead) if isinstance(ask, Choices) else f"{lead} {ask}"
        return Result([retry], FLOW, State(FLOW, current, {**data, "retried": True}))
    if current == "consent" and value is False:
        return Result([t("consent_declined", ctx.lang)], FLOW)
    effects = [Effect("consent")] if current == "consent" else []
    data = {**data, "answers": {**data["answers"], current: value,
                                **({"located": located} if located else {})}}
    return _next(ctx, data, effects)

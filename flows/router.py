"""Choose the flow that answers a turn: safety first, then the open flow, then the intent."""
from __future__ import annotations

from flows import (agroecology, clarify, climate, handoff, markets, menu, onboarding, optout,
                   prices, privacy, support, survey)
from flows import calendar_tips, location, media
from flows.base import Ctx, Result
from flows.places import place

# Open flows that can take the next answer, by name.
STEPPERS = {
    onboarding.FLOW: onboarding.step,
    optout.FLOW: optout.step,
    privacy.FLOW: privacy.step,
    support.FLOW: support.step,
    agroecology.FLOW: agroecology.step,
    markets.FLOW: markets.step,
    prices.FLOW: prices.step,
    climate.FLOW: climate.step,
    clarify.FLOW: lambda ctx: _clarify_step(ctx),
    location.FLOW: location.step,
    media.FLOW: media.step,
}
# Open flows a "where can I sell" question does not interrupt.
KEEPS_ITS_ANSWER = {support.FLOW, onboarding.FLOW, optout.FLOW}
TOPICS = {"ask_price": prices.start, "ask_climate": climate.start,
          "ask_agroecology": agroecology.start}
DATA_RIGHTS = {"data_access": privacy.access, "data_erase": privacy.ask_erase}


def respond(ctx: Ctx) -> Result:
    """Return the replies, next state and effects for one turn."""
    result = _respond(ctx)
    if result.flow == support.FLOW or (ctx.state and ctx.state.flow == support.FLOW):
        result.sensitive = True  # anything said inside that conversation stays private
    return result


def _respond(ctx: Ctx) -> Result:
    parse = ctx.parse
    if parse.rule == "opt_out":
        return optout.stop(ctx)
    if parse.rule in DATA_RIGHTS:  # MIS DATOS, BORRAR: any step, also after STOP
        return DATA_RIGHTS[parse.rule](ctx)
    if ctx.contact.opted_out:
        if ctx.state and ctx.state.flow == privacy.FLOW and (answer := privacy.step(ctx)):
            return answer  # the yes or no to BORRAR
        if parse.intent == "opt_in":
            return optout.resume(ctx)
        if parse.rule == "emergency" or parse.intent == "gbv_support":
            return support.emergency(ctx)  # a cry for help is always answered
        if ctx.state and ctx.state.flow == support.FLOW:
            return support.step(ctx)  # ...to the end of that conversation
        return optout.stopped(ctx)
    if parse.rule == "emergency":
        return support.emergency(ctx)
    if (ctx.survey and not (ctx.state and ctx.state.flow in (support.FLOW, optout.FLOW))
            and survey.takes(ctx)):
        result = survey.step(ctx)  # an open survey question takes the answer (MENU leaves it)
        if result is not None:
            return result
        result = _open_flow_or_intent(ctx)  # clearly another question: leave the survey
        result.effects.append(survey.leave_effect(ctx))
        return result
    return _open_flow_or_intent(ctx)


def _open_flow_or_intent(ctx: Ctx) -> Result:
    parse = ctx.parse
    if parse.rule == "menu" and parse.digit == "0" and not agroecology.awaits_feedback(ctx):
        return menu.show(ctx)  # MENU / 0 leaves any open flow (but 0 rates an answer just asked about)
    if (markets.asks_where_to_sell(ctx.text) and parse.intent != "gbv_support"
            and not (ctx.state and ctx.state.flow in KEEPS_ITS_ANSWER)):
        return markets.start(ctx)
    if ctx.state and ctx.state.flow in STEPPERS:
        result = STEPPERS[ctx.state.flow](ctx)
        if result is not None:
            return result
    return route_intent(ctx)


def route_intent(ctx: Ctx) -> Result:
    """Answer a message that no open flow took, by its intent."""
    parse = ctx.parse
    intent = parse.intent
    if parse.source == "empty":
        return menu.show(ctx)
    if parse.source == "rasa" and intent in {"opt_out", "gbv_support"}:
        # Safety intents favour recall: act on them even with low confidence.
        return optout.ask_confirmation(ctx) if intent == "opt_out" else support.emergency(ctx)
    if parse.nlu_down or parse.low_confidence:
        # Unsure: ask with numbered options (the model's top intents) rather than guess;
        # with nothing to offer (or no model), clear farming keywords still get their answer.
        return ((clarify.ask(ctx) if parse.low_confidence else None)
                or agroecology.confident_answer(ctx) or menu.not_understood(ctx))
    if intent == "gbv_support":
        return support.emergency(ctx)
    if intent == "opt_in":
        return optout.resume(ctx)
    if intent in DATA_RIGHTS:
        return DATA_RIGHTS[intent](ctx)
    if intent in TOPICS:
        return TOPICS[intent](ctx)
    if intent == "human_handoff":
        return handoff.request(ctx)
    if intent == "subscribe":
        return subscribe(ctx)
    if intent == "change_language":
        preset = {"language": parse.entities["language"]} if parse.entities.get("language") else {}
        return onboarding.start(ctx, "language", preset)
    handlers = {"greet": menu.greet, "thanks": menu.thanks, "goodbye": menu.goodbye, "help": menu.show}
    if intent in handlers:
        return handlers[intent](ctx)
    return menu.not_understood(ctx)


def subscribe(ctx: Ctx) -> Result:
    """Record what the contact asked to receive: prices of a product, alerts of a hazard, or ask."""
    entities = ctx.parse.entities
    where = place(entities.get("location") or "")
    region = where[0] if where else None
    if entities.get("product"):
        found = ctx.facts.find_product(entities["product"]) if ctx.facts else None
        if found is None:  # no prices for it: say so and offer the products we have
            return prices.answer(ctx, entities["product"], entities.get("location"))
        return prices.subscribe(ctx, found[0], region)
    if entities.get("hazard"):
        return climate.subscribe(ctx, entities["hazard"], region)
    if calendar_tips.wants_tips(ctx):  # "quiero consejos cada mes": the agroecological calendar
        return calendar_tips.subscribe(ctx)
    return onboarding.start(ctx, "subscribe")


def _clarify_step(ctx: Ctx) -> Result | None:
    """Answer the option picked after a clarifying question as if the model had been sure."""
    intent = clarify.chosen_intent(ctx)
    return route_intent(clarify.resolved(ctx, intent)) if intent else None

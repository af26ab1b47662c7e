"""Answer farming-practice questions from the agroecology knowledge base.

A question names a topic (NLU entity or keywords) -> the short answer, with
"MAS" for the longer parts; no clear topic -> a numbered list of categories,
then of topics, with the option to reach a person. SMS gets the short answer
first (two segments at most); WhatsApp gets it with the first longer part.

Unanswered questions feed the technicians' inbox (effect "unanswered"): a
question with no clear topic, or an answer rated 0 after "¿Te sirvió? 1 Sí 0 No"
(asked at most once a day, when the engine says it is due).
"""
from __future__ import annotations

import re

from flows import handoff
from flows.base import Ctx, Effect, Result, State
from flows.catalog import t, topic_text
from flows.gsm7 import segment_count, to_gsm7
from flows.knowledge import Category, Topic, find

FLOW = "agroecology"
MORE_TOPICS = "+"  # the option that shows the rest of a long topic list
MORE_WORDS = {"mas", "más", "ma", "+", "mas info", "sigue", "siguiente", "aswan", "astawan"}
# Words that mark another topic's question: the no-NLU fallback leaves these alone.
OTHER_TOPIC_WORDS = {"cuanto", "cuanta", "precio", "precios", "cuesta", "vale", "valen", "soles",
                     "mercado", "alerta", "alertas", "pronostico", "manana", "habra", "va"}


def _person_digit(count: int) -> str:
    return str(count + 1)


def start(ctx: Ctx) -> Result:
    """Answer an ask_agroecology turn: the topic if clear, else the category list."""
    found = find(ctx.text, ctx.parse.entities.get("topic"), kb=ctx.knowledge)
    if isinstance(found, Topic):
        return answer(ctx, found)
    if isinstance(found, Category):
        return topic_list(ctx, found)
    result = category_list(ctx, "agro_which")
    result.effects.append(Effect("unanswered", {"reason": "unmatched", "text": ctx.text}))
    return result


def confident_answer(ctx: Ctx) -> Result | None:
    """Answer without the model when keywords name a topic clearly (NLU down or unsure)."""
    words = set(ctx.answer.split())
    if words & OTHER_TOPIC_WORDS:
        return None
    found = find(ctx.text, kb=ctx.knowledge)
    return answer(ctx, found) if isinstance(found, Topic) else None


def answer(ctx: Ctx, topic: Topic) -> Result:
    """Give the first answer of `topic` for the channel and wait for MAS."""
    if ctx.channel == "whatsapp":  # room for more: title, short answer and the first part
        result = _part(ctx, topic, 0)
        sms = topic_text(topic.id, "sms", ctx.lang, topic.sms)  # a translation saved in Textos
        result.replies = [f"*{topic.title}*\n{sms}\n\n{result.replies[0]}"]
        return _ask_feedback(ctx, topic, result)
    sms = topic_text(topic.id, "sms", ctx.lang, topic.sms)  # a translation saved in Textos
    text = f"{sms} {t('agro_source', ctx.lang, source=topic.short_source)}"
    text += " " + t("agro_more_hint", ctx.lang)
    result = Result([text], FLOW, State(FLOW, "answered", {"topic": topic.id, "next": 0}))
    return _ask_feedback(ctx, topic, result)


def _ask_feedback(ctx: Ctx, topic: Topic, result: Result) -> Result:
    """Add "¿Te sirvió? 1 Sí 0 No" when it is due (once a day), remembering the question."""
    if not ctx.contact.feedback_due or topic.private:
        return result
    result.replies.append(t("agro_feedback_ask", ctx.lang))
    result.state = State(FLOW, "answered", {**result.state.data, "feedback": ctx.text[:300]})
    result.effects.append(Effect("feedback_asked"))
    return result


def awaits_feedback(ctx: Ctx) -> bool:
    """Tell whether the open turn waits for 1/0 after "¿Te sirvió?"."""
    return bool(ctx.state and ctx.state.flow == FLOW and ctx.state.data.get("feedback")
                and ctx.answer in {"0", "1"})


def feedback(ctx: Ctx) -> Result:
    """Take the 1/0 rating; a 0 sends the question to the technicians' inbox."""
    data = {k: v for k, v in ctx.state.data.items() if k != "feedback"}
    state = State(FLOW, "answered", data)
    if ctx.answer == "1":
        return Result([t("agro_feedback_thanks", ctx.lang)], FLOW, state)
    effect = Effect("unanswered", {"reason": "unhelpful", "text": ctx.state.data["feedback"],
                                   "topic": data.get("topic")})
    return Result([t("agro_feedback_noted", ctx.lang)], FLOW, state, [effect])


def _part(ctx: Ctx, topic: Topic, index: int, carry: bool = False) -> Result:
    parts = topic.parts
    text = topic_text(topic.id, f"part{index + 1}", ctx.lang, parts[index])  # Textos
    kept = ctx.state.data if carry and ctx.state else {}
    state_data = {k: v for k, v in kept.items() if k == "feedback"}
    if index + 1 < len(parts):
        text += " " + t("agro_more_hint", ctx.lang)
        state = State(FLOW, "answered", {**state_data, "topic": topic.id, "next": index + 1})
    else:
        text += " " + t("agro_source", ctx.lang, source=topic.short_source)
        text += " " + t("agro_end", ctx.lang)
        state = State(FLOW, "answered", {**state_data, "topic": topic.id, "next": len(parts)})
    return Result([text], FLOW, state)


def more(ctx: Ctx) -> Result:
    """Give the next part of the topic answered last, or say there is no more."""
    kb = ctx.knowledge
    data = ctx.state.data if ctx.state else {}
    topic = kb.topics.get(data.get("topic", ""))
    if topic is None:
        return category_list(ctx, "agro_which")
    index = data.get("next", 0)
    if index >= len(topic.parts):
        return Result([t("agro_no_more", ctx.lang)], FLOW, ctx.state)
    return _part(ctx, topic, index, carry=True)


def category_label(category: Category, language: str) -> str:
    """Return the category's short label in `language` (its title when there is no text)."""
    try:
        return t("agro_cat_" + category.id, language)
    except KeyError:
        return category.title


def category_list(ctx: Ctx, lead_key: str) -> Result:
    """Show the numbered categories and the option to reach a person, in one SMS."""
    cats = list(ctx.knowledge.categories.values())
    labels = [category_label(c, ctx.lang) for c in cats] + [t("agro_person", ctx.lang)]
    text = _one_sms(t(lead_key, ctx.lang), labels, t("agro_or_write", ctx.lang))
    return Result([text], FLOW, State(FLOW, "category", {"options": [c.id for c in cats]}))


def _one_sms(lead: str, labels: list[str], hint: str) -> str:
    """Return the numbered list, shortened until it fits one SMS: no hint, then first words only."""
    def listing(names, tail):
        return "\n".join([lead, *(f"{i} {name}" for i, name in enumerate(names, 1)), *tail])

    short = [re.split(r",| y ", name, maxsplit=1)[0] for name in labels[:-1]] + labels[-1:]
    for names, tail in ((labels, [hint]), (labels, []), (short, [hint]), (short, [])):
        text = listing(names, tail)
        if segment_count(to_gsm7(text)) == 1:
            return text
    return text


def topic_list(ctx: Ctx, category: Category, start: int = 0) -> Result:
    """Show the numbered topics of `category` that fit two SMS, "more topics" if some are left,
    and the option to reach a person."""
    topics = ctx.knowledge.in_category(category.id)
    head = category_label(category, ctx.lang) + ":"
    person = t("agro_person", ctx.lang)
    shown, text = [], ""
    for end in range(start + 1, len(topics) + 1):
        page = topics[start:end]
        more = [MORE_TOPICS] if end < len(topics) else []
        lines = [head] + [f"{i} {topic.title}" for i, topic in enumerate(page, 1)]
        lines += [f"{len(page) + 1} {t('agro_more_topics', ctx.lang)}"] if more else []
        lines.append(f"{len(page) + len(more) + 1} {person}")
        candidate = "\n".join(lines)
        if shown and segment_count(to_gsm7(candidate)) > 2:
            break
        shown, text = [topic.id for topic in page] + more, candidate
    data = {"options": shown, "category": category.id,
            "rest": start + len(shown) - (MORE_TOPICS in shown)}
    return Result([text], FLOW, State(FLOW, "topic", data))


def _choose(ctx: Ctx) -> Result | None:
    options = ctx.state.data.get("options", [])
    choice = ctx.answer
    if not choice.isdigit():
        return None
    number = int(choice)
    if number == len(options) + 1:
        return handoff.request(ctx, topic=FLOW)
    if not 1 <= number <= len(options):
        return None
    kb = ctx.knowledge
    picked = options[number - 1]
    if picked == MORE_TOPICS and ctx.state.data.get("category") in kb.categories:
        return topic_list(ctx, kb.categories[ctx.state.data["category"]], ctx.state.data["rest"])
    if ctx.state.step == "category" and picked in kb.categories:
        return topic_list(ctx, kb.categories[picked])
    if picked in kb.topics:
        return answer(ctx, kb.topics[picked])
    return None


def step(ctx: Ctx) -> Result | None:
    """Take the answer to an open list, MAS or the 1/0 rating; None lets the router decide."""
    if awaits_feedback(ctx):
        return feedback(ctx)
    if ctx.answer in MORE_WORDS:
        return more(ctx)
    if ctx.state.step in {"category", "topic"}:
        chosen = _choose(ctx)
        if chosen is not None:
            return chosen
    if ctx.parse.rule is not None:
        return None  # menu digits, STOP and emergencies belong to the router
    if ctx.parse.intent == "gbv_support":
        return None  # violence words: the support flow wins over any topic (women's rights too)
    if ctx.parse.intent == "ask_agroecology" and not ctx.parse.low_confidence:
        return start(ctx)
    found = find(ctx.text, ctx.parse.entities.get("topic"), kb=ctx.knowledge)
    if isinstance(found, Topic):
        return answer(ctx, found)
    return None

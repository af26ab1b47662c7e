"""Answer farming-practice questions from the agroecology knowledge base.

A question names a topic (NLU entity or keywords) -> the short answer, with
"MAS" for the longer parts; no clear topic -> a numbered list of categories,
then of topics, with the option to reach a person. SMS gets the short answer
first (two segments at most); WhatsApp gets it with the first longer part.
"""
from __future__ import annotations

from flows import handoff
from flows.base import Ctx, Result, State
from flows.catalog import t, topic_text
from flows.knowledge import Category, Topic, find, knowledge_base

FLOW = "agroecology"
MORE_WORDS = {"mas", "más", "ma", "+", "mas info", "sigue", "siguiente", "aswan", "astawan"}
# Words that mark another topic's question: the no-NLU fallback leaves these alone.
OTHER_TOPIC_WORDS = {"cuanto", "cuanta", "precio", "precios", "cuesta", "vale", "valen", "soles",
                     "mercado", "alerta", "alertas", "pronostico", "manana", "habra", "va"}


def _person_digit(count: int) -> str:
    return str(count + 1)


def start(ctx: Ctx) -> Result:
    """Answer an ask_agroecology turn: the topic if clear, else the category list."""
    found = find(ctx.text, ctx.parse.entities.get("topic"))
    if isinstance(found, Topic):
        return answer(ctx, found)
    if isinstance(found, Category):
        return topic_list(ctx, found)
    return category_list(ctx, "agro_which")


def confident_answer(ctx: Ctx) -> Result | None:
    """Answer without the model when keywords name a topic clearly (NLU down or unsure)."""
    words = set(ctx.answer.split())
    if words & OTHER_TOPIC_WORDS:
        return None
    found = find(ctx.text)
    return answer(ctx, found) if isinstance(found, Topic) else None


def answer(ctx: Ctx, topic: Topic) -> Result:
    """Give the first answer of `topic` for the channel and wait for MAS."""
    if ctx.channel == "whatsapp":  # room for more: title, short answer and the first part
        result = _part(ctx, topic, 0)
        sms = topic_text(topic.id, "sms", ctx.lang, topic.sms)  # a translation saved in Textos
        result.replies = [f"*{topic.title}*\n{sms}\n\n{result.replies[0]}"]
        return result
    sms = topic_text(topic.id, "sms", ctx.lang, topic.sms)  # a translation saved in Textos
    text = f"{sms} {t('agro_source', ctx.lang, source=topic.short_source)}"
    text += " " + t("agro_more_hint", ctx.lang)
    return Result([text], FLOW, State(FLOW, "answered", {"topic": topic.id, "next": 0}))


def _part(ctx: Ctx, topic: Topic, index: int) -> Result:
    parts = topic.parts
    text = topic_text(topic.id, f"part{index + 1}", ctx.lang, parts[index])  # Textos
    if index + 1 < len(parts):
        text += " " + t("agro_more_hint", ctx.lang)
        state = State(FLOW, "answered", {"topic": topic.id, "next": index + 1})
    else:
        text += " " + t("agro_source", ctx.lang, source=topic.short_source)
        text += " " + t("agro_end", ctx.lang)
        state = State(FLOW, "answered", {"topic": topic.id, "next": len(parts)})
    return Result([text], FLOW, state)


def more(ctx: Ctx) -> Result:
    """Give the next part of the topic answered last, or say there is no more."""
    kb = knowledge_base()
    data = ctx.state.data if ctx.state else {}
    topic = kb.topics.get(data.get("topic", ""))
    if topic is None:
        return category_list(ctx, "agro_which")
    index = data.get("next", 0)
    if index >= len(topic.parts):
        return Result([t("agro_no_more", ctx.lang)], FLOW, ctx.state)
    return _part(ctx, topic, index)


def category_list(ctx: Ctx, lead_key: str) -> Result:
    """Show the numbered categories and the option to reach a person."""
    cats = list(knowledge_base().categories.values())
    lines = [t(lead_key, ctx.lang)]
    lines += [f"{i} {t('agro_cat_' + c.id, ctx.lang)}" for i, c in enumerate(cats, 1)]
    lines.append(f"{_person_digit(len(cats))} {t('agro_person', ctx.lang)}")
    lines.append(t("agro_or_write", ctx.lang))
    return Result(["\n".join(lines)], FLOW,
                  State(FLOW, "category", {"options": [c.id for c in cats]}))


def topic_list(ctx: Ctx, category: Category) -> Result:
    """Show the numbered topics of `category` and the option to reach a person."""
    topics = knowledge_base().in_category(category.id)
    lines = [t("agro_cat_" + category.id, ctx.lang) + ":"]
    lines += [f"{i} {topic.title}" for i, topic in enumerate(topics, 1)]
    lines.append(f"{_person_digit(len(topics))} {t('agro_person', ctx.lang)}")
    return Result(["\n".join(lines)], FLOW,
                  State(FLOW, "topic", {"options": [topic.id for topic in topics]}))


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
    kb = knowledge_base()
    picked = options[number - 1]
    if ctx.state.step == "category" and picked in kb.categories:
        return topic_list(ctx, kb.categories[picked])
    if picked in kb.topics:
        return answer(ctx, kb.topics[picked])
    return None


def step(ctx: Ctx) -> Result | None:
    """Take the answer to an open list or MAS; None lets the router decide."""
    if ctx.answer in MORE_WORDS:
        return more(ctx)
    if ctx.state.step in {"category", "topic"}:
        chosen = _choose(ctx)
        if chosen is not None:
            return chosen
    if ctx.parse.rule is not None:
        return None  # menu digits, STOP and emergencies belong to the router
    if ctx.parse.intent == "ask_agroecology" and not ctx.parse.low_confidence:
        return start(ctx)
    found = find(ctx.text, ctx.parse.entities.get("topic"))
    if isinstance(found, Topic):
        return answer(ctx, found)
    return None

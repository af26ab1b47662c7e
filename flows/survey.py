"""Answer a survey question by SMS/WhatsApp: read, store, ask the next one, or re-ask once.

The engine hands the open participation in as `ctx.survey` (a SurveyTurn); the
router gives it the message only after the opt-out and emergency rules and never
inside a conversation about violence.

    question ──valid──▶ next question ... ──last──▶ thanks (completed)
       │ ──SALTAR──▶ recorded as skipped, next question
       │ ──unreadable──▶ re-asked once with a hint ──unreadable again──▶ skipped, next
       │                                          └──clearly another question──▶ left, normal answer
       └──MENU (or 0 unless 0 is a valid number)──▶ left, main menu

A day after the last survey message, or when another conversation asked
something since, only readable answers are taken (see `takes`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from flows.base import Ctx, Effect, Result
from flows.catalog import t
from flows.dates import read_day
from flows.menu import with_menu
from flows.options import Choices, Option, numbered
from flows.records import lima_date
from nlu.rules import normalise

FLOW = "survey"
TYPES = ("choice", "number", "yes_no", "text", "date")
SKIP_WORDS = frozenset({"saltar", "salta", "omitir", "siguiente"})
LEAVE_WORDS = frozenset({"menu", "inicio", "opciones"})
YES = frozenset({"1", "si", "sii", "sip", "ari", "ari ari", "jisa", "yes", "claro", "si claro"})
NO = frozenset({"2", "no", "nop", "noo", "mana", "manam", "manan", "janiwa", "jani"})
# Model intents that mean "this is not an answer, it is another question".
OTHER_INTENTS = frozenset({"ask_price", "ask_climate", "ask_agroecology", "human_handoff",
                           "subscribe", "change_language", "help"})
SAFETY_INTENTS = frozenset({"opt_out", "gbv_support"})
_NUMBER = re.compile(r"^\s*(-?\d+(?:[.,]\d+)*)\s*([a-zA-ZñÑ]+\.?)?\s*$")
_THOUSANDS = re.compile(r"^-?\d{1,3}(?:[.,]\d{3})+$")  # else "." or "," is the decimal mark


@dataclass(frozen=True)
class SurveyTurn:
    """The open participation awaiting an answer, as the flow sees it."""

    participant_id: int
    slug: str
    questions: tuple  # dicts as stored in Survey.questions
    index: int
    invalid_count: int
    thanks: str  # in the contact's language
    fresh: bool = True  # asked within ANSWER_WINDOW and nothing was asked since

    @property
    def question(self) -> dict:
        return self.questions[self.index]


def question_text(q: dict, lang: str) -> str:
    """Return the prompt of question `q` in `lang` (Spanish when missing)."""
    return (q.get("text") or {}).get(lang) or q["text"]["es"]


def prompt(q: dict, lang: str, number: int, total: int) -> str:
    """Return one question as sent: its text and how to answer it."""
    head = f"{number}/{total} {question_text(q, lang)}"
    if q["type"] == "choice":
        labels = [(str(i), o.get(lang) or o["es"]) for i, o in enumerate(q["options"], 1)]
        options = " ".join(f"{i} {label}" for i, label in labels)
        return Choices(f"{head}\n{options}", head, [Option(i, label) for i, label in labels])
    if q["type"] == "yes_no":
        return numbered(f"{head}\n{t('survey_yes_no', lang)}", 2)
    if q["type"] == "number":
        unit = f" {q['unit']}" if q.get("unit") else ""
        return f"{head} ({_fmt(q['min'])}-{_fmt(q['max'])}{unit})"
    return head


def invitation(intro: str, questions: list, lang: str) -> str:
    """Return the first message of a survey: intro, first question, how to skip or stop."""
    return f"{intro}\n{prompt(questions[0], lang, 1, len(questions))}\n{t('survey_footer', lang)}"


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def read(q: dict, ctx: Ctx) -> str | None:
    """Return the normalised value of the answer to `q`, or None when it cannot be read."""
    answer = ctx.answer
    if q["type"] == "choice":
        digit = re.fullmatch(r"(?:opcion |op |nro |numero )?(\d{1,2})", answer)
        if digit and 1 <= int(digit.group(1)) <= len(q["options"]):
            return q["options"][int(digit.group(1)) - 1]["value"]
        for option in q["options"]:
            labels = {option["value"], *(v for k, v in option.items() if k != "value")}
            if answer in {_norm(label) for label in labels}:
                return option["value"]
        return None
    if q["type"] == "yes_no":
        if answer in YES or (_confident(ctx) and ctx.parse.intent == "affirm"):
            return "si"
        if answer in NO or (_confident(ctx) and ctx.parse.intent == "deny"):
            return "no"
        return None
    if q["type"] == "number":
        found = _NUMBER.match(ctx.text or "")
        if not found:
            return None
        digits = found.group(1)
        if _THOUSANDS.match(digits):  # "1.500" or "1,500 kg": fifteen hundred
            digits = re.sub(r"[.,]", "", digits)
        value = float(digits.replace(",", "."))
        return _fmt(value) if q["min"] <= value <= q["max"] else None
    if q["type"] == "date":  # stored as ISO "2026-11-10"
        day = read_day(ctx.text or "", lima_date(ctx.now), q.get("expect", "past"))
        return day.isoformat() if day else None
    text = (ctx.text or "").strip()
    return text[: q.get("max_length", 160)] if text else None


def _norm(text: str) -> str:
    return normalise(str(text))


def _confident(ctx: Ctx) -> bool:
    p = ctx.parse
    return p.source == "rasa" and not p.low_confidence and not p.nlu_down


def clearly_other(ctx: Ctx) -> bool:
    """Tell whether the message is confidently another request (a price question...)."""
    return _confident(ctx) and ctx.parse.intent in OTHER_INTENTS


def takes(ctx: Ctx) -> bool:
    """Tell whether the survey should take this message at all.

    Right after a survey message anything is an answer. Later (a day on, or after
    another conversation asked something), only a readable answer to a numbered,
    yes/no or number question, or SALTAR, is taken: "cuanto esta la papa" a week
    later is a price question, not a comment, and the survey stays open.
    """
    s: SurveyTurn = ctx.survey
    if s.fresh:
        return True
    return ctx.answer in SKIP_WORDS or (s.question["type"] != "text"
                                        and read(s.question, ctx) is not None)


def step(ctx: Ctx) -> Result | None:
    """Take the answer to the open question; None hands the message to normal routing."""
    if ctx.parse.source == "rasa" and ctx.parse.intent in SAFETY_INTENTS:
        return None  # the model heard a stop or a cry for help: never file it as an answer
    s: SurveyTurn = ctx.survey
    q = s.question
    value = read(q, ctx)
    answer = ctx.answer
    if answer in LEAVE_WORDS or (answer == "0" and value is None):
        return Result([with_menu(ctx, "survey_left")], FLOW, effects=[leave_effect(ctx)])
    if answer in SKIP_WORDS:
        return _advance(ctx, None)
    if value is not None:
        return _advance(ctx, value)
    if s.invalid_count == 0:
        hint = t(f"survey_invalid_{q['type']}", ctx.lang)
        again = prompt(q, ctx.lang, s.index + 1, len(s.questions))
        again = again.led_by(hint, "\n") if isinstance(again, Choices) else f"{hint}\n{again}"
        return Result([again], FLOW, effects=[
            Effect(FLOW, {"participant_id": s.participant_id, "index": s.index, "invalid": 1,
                          "status": "answering", "answer": None})])
    if clearly_other(ctx):
        return None
    return _advance(ctx, None, lead=t("survey_skipped", ctx.lang))


def leave_effect(ctx: Ctx) -> Effect:
    """Return the effect that ends the participation as `left` (answers so far kept)."""
    s: SurveyTurn = ctx.survey
    return Effect(FLOW, {"participant_id": s.participant_id, "index": s.index, "invalid": 0,
                         "status": "left", "answer": None})


def _advance(ctx: Ctx, value: str | None, lead: str | None = None) -> Result:
    s: SurveyTurn = ctx.survey
    q = s.question
    answer = {"key": q["key"], "value": value, "raw": ctx.text, "skipped": value is None}
    if q.get("save_as") and value is not None:  # a date the contact gave, for reminders
        answer["save_as"] = q["save_as"]
    following = s.index + 1
    done = following >= len(s.questions)
    reply = s.thanks if done else prompt(s.questions[following], ctx.lang, following + 1,
                                         len(s.questions))
    status = "completed" if done else "answering"
    return Result([f"{lead}\n{reply}" if lead else reply], FLOW, effects=[
        Effect(FLOW, {"participant_id": s.participant_id, "index": following, "invalid": 0,
                      "status": status, "answer": answer})])

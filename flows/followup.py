"""Follow-up questions answered in the last context: "y en lima?", "y la quinua?", "y mañana?".

After a price or climate answer, the flow's state keeps what it was about (product,
place, hazard) and when. For 30 minutes, a message made only of the things it names
and a few joining words is a follow-up, answered in that context. Anything else
(a greeting, another question, AVISAME) is a new intent, which always wins.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from flows.base import Ctx
from nlu.rules import normalise

MEMORY = timedelta(minutes=30)
JOINING_WORDS = frozenset({"y", "e", "en", "el", "la", "los", "las", "lo", "de", "del", "para",
                           "por", "a", "al", "pues", "ps", "ya", "tal", "que", "q", "hay", "sobre"})
PRICE_WORDS = frozenset({"cuanto", "esta", "sta", "precio", "precios", "cuesta", "vale", "kilo",
                         "kg"})
TIME_WORDS = frozenset({"hoy", "manana", "mañana", "pasado", "noche", "tarde", "madrugada",
                        "semana", "fin", "lunes", "martes", "miercoles", "jueves", "viernes",
                        "sabado", "domingo", "como", "estara", "hara", "clima", "tiempo"})


def remembered(ctx: Ctx) -> dict:
    """Return what a state remembers for follow-ups, stamped with this turn's time."""
    return {"at": ctx.now.isoformat()}


def is_followup(ctx: Ctx, topic_words: frozenset = frozenset()) -> bool:
    """Tell whether the message, in time, only names entities or "y" + a `topic_words` word."""
    at = (ctx.state.data or {}).get("at") if ctx.state else None
    if not at or ctx.now - datetime.fromisoformat(at) > MEMORY:
        return False
    words = normalise(ctx.text).split()
    named = {w for value in ctx.parse.entities.values() for w in normalise(str(value)).split()}
    if not words or any(w not in JOINING_WORDS | topic_words | named for w in words):
        return False
    return bool(named) or (words[0] == "y" and bool(set(words) & topic_words))

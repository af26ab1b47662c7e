"""Corrections feed back: how many other messages look like a corrected one but were read otherwise."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Message, Review
from nlu.rules import normalise

SCAN = 2000  # the most recent inbound messages compared with each correction
LIKENESS = 0.5  # share of words in common (Jaccard) from which two messages are "alike"
FILLER = frozenset({"el", "la", "los", "las", "de", "del", "en", "y", "a", "que", "q", "un", "una",
                    "me", "mi", "por", "para", "con", "es", "lo", "se", "al", "o"})


def words(text: str) -> frozenset:
    """Return the words of `text` that carry meaning (normalised, without filler)."""
    return frozenset(w for w in normalise(text).split() if w not in FILLER)


def alike(a: frozenset, b: frozenset) -> bool:
    """Tell whether two word sets share at least LIKENESS of their words."""
    return bool(a and b) and len(a & b) / len(a | b) >= LIKENESS


def misread_like(session: Session, reviews: list[Review]) -> dict[int, int]:
    """Return, per corrected review id, how many recent messages alike it the bot read otherwise."""
    corrected = [r for r in reviews if r.status == "corrected" and r.text and r.intent]
    if not corrected:
        return {}
    recent = session.execute(
        select(Message.id, Message.body, Message.intent)
        .where(Message.direction == "in", Message.redacted.is_(False), Message.body.is_not(None))
        .order_by(Message.id.desc()).limit(SCAN)).all()
    bags = [(mid, words(body), intent) for mid, body, intent in recent]
    return {r.id: sum(1 for mid, bag, intent in bags
                      if mid != r.message_id and intent != r.intent and alike(words(r.text), bag))
            for r in corrected}

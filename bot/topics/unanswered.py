"""Questions the bot could not answer: recorded from the flows' effects, grouped by
similarity for the technicians' inbox, and counted per week for the dashboard."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.clock import LIMA
from bot.training.similar import alike
from flows.matching import words as stems
from models import Contact, UnansweredQuestion

EFFECTS = ("unanswered", "feedback_asked")
OPEN = ("open", "answered")
INBOX_LIMIT = 1000


def feedback_due(contact: Contact, now: datetime) -> bool:
    """Tell whether "¿Te sirvió?" may be asked today (at most once a Lima day)."""
    return (contact.profile or {}).get("feedback_asked") != now.astimezone(LIMA).date().isoformat()


def apply(session: Session, contact: Contact, message_id: int, private: bool, effect,
          now: datetime) -> None:
    """Record an unanswered question, or that the rating was asked today."""
    if effect.kind == "feedback_asked":
        contact.profile = {**(contact.profile or {}),
                           "feedback_asked": now.astimezone(LIMA).date().isoformat()}
        return
    text = (effect.values.get("text") or "").strip()
    if not text or private:  # nothing of a private conversation reaches the inbox
        return
    session.add(UnansweredQuestion(contact_id=contact.id, message_id=message_id, text=text[:500],
                                   reason=effect.values.get("reason", "unmatched"),
                                   topic_id=effect.values.get("topic"), created_at=now))


@dataclass
class Group:
    """Questions alike enough to be one: the first one's text, every member, and counts."""

    questions: list[UnansweredQuestion]

    @property
    def first(self) -> UnansweredQuestion:
        return self.questions[0]

    @property
    def ids(self) -> list[int]:
        return [q.id for q in self.questions]

    @property
    def phrasings(self) -> list[str]:
        seen, out = set(), []
        for q in self.questions:
            key = " ".join(sorted(set(stems(q.text))))
            if key and key not in seen:
                seen.add(key)
                out.append(q.text.strip())
        return out

    @property
    def people(self) -> int:
        return len({q.contact_id for q in self.questions})


def group(questions: list[UnansweredQuestion]) -> list[Group]:
    """Group questions whose word stems are alike (similar.alike), biggest group first."""
    groups: list[tuple[list[frozenset], Group]] = []
    for question in questions:
        bag = frozenset(stems(question.text))
        for bags, grp in groups:
            if any(alike(bag, other) for other in bags):
                bags.append(bag)
                grp.questions.append(question)
                break
        else:
            groups.append(([bag], Group([question])))
    return sorted((g for _, g in groups), key=lambda g: (-len(g.questions), g.first.created_at))


def open_groups(session: Session) -> list[Group]:
    """Return the groups of questions still waiting (open, or answered but not yet a topic)."""
    rows = list(session.scalars(select(UnansweredQuestion)
                                .where(UnansweredQuestion.status.in_(OPEN))
                                .order_by(UnansweredQuestion.created_at, UnansweredQuestion.id)
                                .limit(INBOX_LIMIT)))
    return group(rows)


def members(session: Session, ids: list[int]) -> list[UnansweredQuestion]:
    """Return the questions with these ids that are still waiting."""
    if not ids:
        return []
    return list(session.scalars(select(UnansweredQuestion).where(
        UnansweredQuestion.id.in_(ids), UnansweredQuestion.status.in_(OPEN))
        .order_by(UnansweredQuestion.id)))


def resolve(questions: list[UnansweredQuestion], status: str, email: str, now: datetime,
            new_topic_id: str | None = None) -> None:
    """Close a group: out of scope, answered, or turned into a topic."""
    for q in questions:
        q.status, q.resolved_by_email, q.resolved_at = status, email, now
        if new_topic_id:
            q.new_topic_id = new_topic_id


def weekly(session: Session, now: datetime, weeks: int = 8) -> list[dict]:
    """Return, per Lima week (Monday), the unanswered groups that arrived and how many became topics."""
    local = now.astimezone(LIMA)
    monday = (local - timedelta(days=local.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    start = monday - timedelta(weeks=weeks - 1)
    rows = list(session.scalars(select(UnansweredQuestion)
                                .where(UnansweredQuestion.created_at >= start)
                                .order_by(UnansweredQuestion.created_at, UnansweredQuestion.id)))
    out = []
    for n in range(weeks):
        begin, end = start + timedelta(weeks=n), start + timedelta(weeks=n + 1)
        week = [q for q in rows if begin <= q.created_at.astimezone(LIMA) < end]
        groups = group(week)
        out.append({"week": begin.date(), "groups": len(groups), "questions": len(week),
                    "topics": sum(1 for g in groups if any(q.status == "topic" for q in g.questions))})
    return out

"""Types shared by every flow: what a flow reads and what it returns."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flows.records import Facts
from nlu.classifier import Parse
from nlu.rules import normalise


@dataclass(frozen=True)
class ContactView:
    """What a flow may know about the contact (no database access)."""

    language: str = "es"
    region: str | None = None
    province: str | None = None
    has_consent: bool = False
    opted_out: bool = False
    is_new: bool = False
    feedback_due: bool = False  # "¿Te sirvió?" not asked yet today (the engine decides the day)
    latitude: float | None = None  # a location she shared and agreed to keep (flows/location.py)
    longitude: float | None = None


@dataclass(frozen=True)
class State:
    """Where an open flow waits: its name, step and data."""

    flow: str
    step: str
    data: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Ctx:
    """One turn of the conversation as a flow sees it."""

    contact: ContactView
    channel: str
    text: str
    parse: Parse
    state: State | None
    now: datetime
    facts: Facts | None = None  # read-only queries on stored data; None in pure tests
    survey: Any = None  # the open survey question (flows.survey.SurveyTurn), loaded by the engine
    stored_data: Any = None  # callable -> what is stored about her (MIS DATOS), from the engine
    kb: Any = None  # the published knowledge base (flows.knowledge.KnowledgeBase); None: the current one
    location: Any = None  # a WhatsApp location (flows.location.SharedLocation) sent this turn
    media: tuple = ()  # (Twilio media URL, content type) pairs sent this turn; never in support

    @property
    def lang(self) -> str:
        return self.contact.language or "es"

    @property
    def knowledge(self):
        """Return the knowledge base this turn answers from."""
        from flows.knowledge import knowledge_base

        return self.kb or knowledge_base()

    @property
    def answer(self) -> str:
        """Return the message normalised for matching a numbered answer."""
        return normalise(self.text)


@dataclass(frozen=True)
class Effect:
    """A change the engine applies to stored data after the flow returns."""

    kind: str  # "opt_out", "opt_in", "consent", "set_profile", "handoff", "subscribe", "survey",
    #             "erase", "unanswered", "feedback_asked"
    values: dict = field(default_factory=dict)


@dataclass
class Result:
    """What a flow returns: replies, the next state (None ends the flow), effects."""

    replies: list[str]
    flow: str
    state: State | None = None
    effects: list[Effect] = field(default_factory=list)
    sensitive: bool = False  # bodies of this turn must not be stored (violence)

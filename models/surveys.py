"""Surveys: short question series sent by SMS/WhatsApp, answered one message at a time."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow

OPEN = ("invited", "answering")  # participations that still await an answer


class Survey(Base):
    """A survey loaded from a data file (flows/data/surveys/*.yml), keyed by its slug.

    ::

        draft ──(survey send: participants + first question in the outbox)──▶ sending
                                                  │  (sending again adds new people only)
                                                  └──(closes_at passed, or survey close)──▶ closed

    `questions` is a list of {"key", "type" (choice, number, yes_no, text, date), "text"
    {lang: prompt}, "options" [{"value", "es", ...}], "min", "max", "unit",
    "max_length", "expect" (past/future), "save_as" (a date's name in the contact's
    profile["dates"], for reminders)}; `texts` holds {"intro": {lang: ...}, "thanks": {lang: ...}}.
    Spanish is required everywhere; other languages fall back to it.
    """

    __tablename__ = "surveys"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    title: Mapped[str] = mapped_column(String(120))
    source: Mapped[str] = mapped_column(String(200))  # who wrote it (organisation, owner)
    source_date: Mapped[date | None]
    questions: Mapped[list] = mapped_column(default=list)
    texts: Mapped[dict] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(10), default="draft", index=True)
    segment: Mapped[dict] = mapped_column(default=dict)  # the last segment it was sent to
    reminder_after_hours: Mapped[int] = mapped_column(default=48)
    closes_after_days: Mapped[int] = mapped_column(default=14)
    closes_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    def text_for(self, name: str, language: str | None) -> str:
        """Return texts[name] in `language`, else Spanish."""
        texts = (self.texts or {}).get(name) or {}
        return texts.get(language or "es") or texts.get("es", "")

    def __repr__(self) -> str:
        return f"<Survey {self.id} {self.slug} {self.status}>"


class SurveyParticipant(Base):
    """One contact's participation in one survey (at most one: sending twice invites once).

    ::

        invited ──(first answer or skip)──▶ answering ──(last question)──▶ completed
          │  └──(reminder_after hours without an answer: ONE reminder, reminded_at set)
          ├──(STOP/BAJA)──────────────────▶ stopped
          ├──(MENU, another question twice, a conversation about violence)──▶ left
          └──(closes_at passed while still open)──▶ expired

    `question_index` is the question awaiting an answer; `invalid_count` counts
    unreadable answers to it (one re-ask, then it is recorded as skipped).
    """

    __tablename__ = "survey_participants"
    __table_args__ = (UniqueConstraint("survey_id", "contact_id"),
                      Index("ix_survey_participants_contact_status", "contact_id", "status"))

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    contact_id: Mapped[int | None] = mapped_column(  # None: the contact was erased
        ForeignKey("contacts.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(10), default="invited")
    channel: Mapped[str] = mapped_column(String(10), default="sms")
    question_index: Mapped[int] = mapped_column(default=0)
    invalid_count: Mapped[int] = mapped_column(default=0)
    invited_at: Mapped[datetime] = mapped_column(default=utcnow)
    reminded_at: Mapped[datetime | None]
    last_answer_at: Mapped[datetime | None]  # the last turn the survey took (answer or re-ask)
    finished_at: Mapped[datetime | None]


class SurveyAnswer(Base):
    """One answer to one question: the normalised value and the text as received."""

    __tablename__ = "survey_answers"
    __table_args__ = (UniqueConstraint("participant_id", "question_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("survey_participants.id", ondelete="CASCADE"), index=True)
    question_key: Mapped[str] = mapped_column(String(40))
    value: Mapped[str | None] = mapped_column(String(400))  # None: skipped
    raw: Mapped[str | None] = mapped_column(Text)
    skipped: Mapped[bool] = mapped_column(default=False)
    answered_at: Mapped[datetime] = mapped_column(default=utcnow)

"""The knowledge base's working copy: topic versions (four-eyes), categories, the revision
counter every web worker checks, and the questions the bot could not answer."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class TopicVersion(Base):
    """One version of a topic's content; the bot answers from published versions only.

    ::

        draft ──(a second person with the role publishes)──▶ published ──(a newer one
          │                                                               is published)──▶ superseded
          └──(its author or a reviewer discards it)──▶ discarded

    A retirement is a version with `retired` set, published the same way. The
    shipped seed and `knowledge import --publish` write published versions
    directly (they were reviewed in git); both are audited.
    """

    __tablename__ = "kb_topic_versions"
    __table_args__ = (UniqueConstraint("topic_id", "number"),
                      Index("ix_kb_topic_versions_status", "status"))

    id: Mapped[int] = mapped_column(primary_key=True)
    topic_id: Mapped[str] = mapped_column(String(60), index=True)
    number: Mapped[int]
    status: Mapped[str] = mapped_column(String(12), default="draft")
    category: Mapped[str] = mapped_column(String(40))
    content: Mapped[dict] = mapped_column(default=dict)  # id, title, keywords, sms, whatsapp...
    retired: Mapped[bool] = mapped_column(default=False)
    note: Mapped[str | None] = mapped_column(String(200))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    author_email: Mapped[str | None] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_by_email: Mapped[str | None] = mapped_column(String(254))
    published_at: Mapped[datetime | None]


class KbCategory(Base):
    """A category of topics: the title its file carries, and its place in the list."""

    __tablename__ = "kb_categories"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    title: Mapped[str] = mapped_column(String(120))
    position: Mapped[int] = mapped_column(default=0)


class KbRevision(Base):
    """One row counting publications: a worker reloads the published topics when it changes."""

    __tablename__ = "kb_revision"

    id: Mapped[int] = mapped_column(primary_key=True)
    counter: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class UnansweredQuestion(Base):
    """A question the bot could not match, or whose answer the person rated 0.

    ::

        open ──(a technician answers the person)──▶ answered ──(answer kept as a topic)──▶ topic
          │ └──(answer kept as a topic draft)──────────────────────────────────────────────▲
          └──(marked out of scope)──▶ out_of_scope
    """

    __tablename__ = "unanswered_questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(String(12))  # "unmatched" or "unhelpful"
    topic_id: Mapped[str | None] = mapped_column(String(60))  # the topic rated unhelpful
    status: Mapped[str] = mapped_column(String(12), default="open", index=True)
    handoff_id: Mapped[int | None] = mapped_column(
        ForeignKey("handoff_requests.id", ondelete="SET NULL"))
    new_topic_id: Mapped[str | None] = mapped_column(String(60))
    resolved_by_email: Mapped[str | None] = mapped_column(String(254))
    resolved_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

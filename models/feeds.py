"""CAP feeds the scheduler polls, and the record of every poll."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, utcnow

AUTO, MANUAL = "auto", "manual"
MODES = (AUTO, MANUAL)
OK, FAILING = "ok", "failing"


class AlertFeed(Base):
    """One CAP source: an Atom/RSS feed of alerts, an index linking to CAP files, or one file.

    Poll health (`status`; `failures` counts failed polls in a row)::

        new ──(poll ok)──▶ ok ──(poll fails)──▶ failing ──(poll ok)──▶ ok
                                                  │
                                                  └─ next_poll_at = last poll + back-off
                                                     (doubles with each failure, at most 6 h)

    `polling_until` is a lease: a poll in progress holds it, so two polls of one
    feed never overlap (scheduler and `alerts poll` at once).
    """

    __tablename__ = "alert_feeds"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    url: Mapped[str] = mapped_column(String(500), unique=True)
    mode: Mapped[str] = mapped_column(String(10), default=AUTO)  # auto: push on import; manual: review
    status: Mapped[str] = mapped_column(String(10), default="new")
    etag: Mapped[str | None] = mapped_column(String(300))
    last_modified: Mapped[str | None] = mapped_column(String(100))
    seen: Mapped[dict] = mapped_column(default=dict)  # linked entry id -> its <updated>
    failures: Mapped[int] = mapped_column(default=0)
    next_poll_at: Mapped[datetime | None]
    polling_until: Mapped[datetime | None]
    last_polled_at: Mapped[datetime | None]
    last_status: Mapped[int | None]  # HTTP status of the last poll (None: no answer)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    polls: Mapped[list["FeedPoll"]] = relationship(back_populates="feed", cascade="all, delete-orphan",
                                                   passive_deletes=True)


class FeedPoll(Base):
    """One poll of a feed: when, the HTTP status, what it gave, and the error text if any."""

    __tablename__ = "alert_feed_polls"

    id: Mapped[int] = mapped_column(primary_key=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("alert_feeds.id", ondelete="CASCADE"), index=True)
    polled_at: Mapped[datetime] = mapped_column(index=True)
    millis: Mapped[int] = mapped_column(default=0)  # how long the poll took
    http_status: Mapped[int | None]
    outcome: Mapped[str] = mapped_column(String(12))  # imported, unchanged, not-modified, failed
    entries: Mapped[int] = mapped_column(default=0)
    imported: Mapped[int] = mapped_column(default=0)
    unchanged: Mapped[int] = mapped_column(default=0)
    failed: Mapped[int] = mapped_column(default=0)
    pushes: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)

    feed: Mapped[AlertFeed] = relationship(back_populates="polls")

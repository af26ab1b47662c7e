"""Translations edited in the console: overrides of the shipped reply texts and topic answers."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class TextOverride(Base):
    """One text in one language, saved in the console on top of the YAML shipped in git.

    `kind` "reply" is a key of flows/texts/*.yml (`field` ""); "topic" is an agroecology
    topic's answer (`key` the topic id, `field` "sms" or "part1", "part2"...). Review::

        unchecked ──(a native speaker ticks it)──▶ checked (checked_by, checked_at, es_hash)
            ▲                                         │
            └────────────(the text is edited)─────────┘

    `es_hash` is the SHA-256 of the Spanish text when it was checked: when the Spanish
    changes afterwards, the translation shows as "changed since checked".
    """

    __tablename__ = "text_overrides"
    __table_args__ = (UniqueConstraint("kind", "key", "field", "lang",
                                       name="uq_text_overrides_text"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    key: Mapped[str] = mapped_column(String(80))
    field: Mapped[str] = mapped_column(String(20), default="")
    lang: Mapped[str] = mapped_column(String(2))
    text: Mapped[str] = mapped_column(Text)
    updated_by: Mapped[str | None] = mapped_column(String(254))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    checked_by: Mapped[str | None] = mapped_column(String(254))
    checked_at: Mapped[datetime | None]
    es_hash: Mapped[str | None] = mapped_column(String(64))


class TextsVersion(Base):
    """A single row counting saves: every web worker reloads the overrides when it moves."""

    __tablename__ = "texts_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(default=0)

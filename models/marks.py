"""Marks a database carries about itself (today one: "demo", set by load-demo)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.base import Base, utcnow

DEMO = "demo"


class DatabaseMark(Base):
    """One named mark: `demo` means the database holds the demo and nothing real."""

    __tablename__ = "database_marks"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


def is_demo(session: Session) -> bool:
    """Tell whether this database is marked as the demo database."""
    return session.get(DatabaseMark, DEMO) is not None

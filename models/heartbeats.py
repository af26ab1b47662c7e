"""Heartbeats: the long-running processes (sender, scheduler) say when they were last alive."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.base import Base

SENDER, SCHEDULER = "sender", "scheduler"


class Heartbeat(Base):
    """One row a kind of process: when any process of that kind last showed it was working."""

    __tablename__ = "heartbeats"

    process: Mapped[str] = mapped_column(String(40), primary_key=True)
    seen_at: Mapped[datetime]


def beat(session: Session, process: str, now: datetime) -> None:
    """Record that `process` is alive at `now` (one upsert: several senders may beat at once)."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(Heartbeat).values(process=process, seen_at=now)
    session.execute(stmt.on_conflict_do_update(index_elements=[Heartbeat.process],
                                               set_={"seen_at": stmt.excluded.seen_at}))


def last_seen(session: Session) -> dict[str, datetime]:
    """Return process kind -> when it last beat."""
    return dict(session.execute(select(Heartbeat.process, Heartbeat.seen_at)).all())

"""Read-only queries that flows may make during one turn (prices, alerts...).

Flows stay free of SQLAlchemy: the engine hands them a Facts object bound to the
turn's session, and unit tests hand them a small fake with the same methods.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session


class Facts:
    """Answer the questions flows ask about stored data, within one session."""

    def __init__(self, session: Session, now: datetime):
        self.session = session
        self.now = now

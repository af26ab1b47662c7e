"""The conversations' scheduled job: each takes its session and `now` and returns counts."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.orm import Session

from models import ConversationState


def expire_conversations(session: Session, now: datetime) -> dict:
    """Delete conversation states whose time ran out."""
    result = session.execute(delete(ConversationState).where(ConversationState.expires_at <= now))
    return {"expired": result.rowcount or 0}


JOBS = {"expire_conversations": expire_conversations}

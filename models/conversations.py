"""Conversation state: where each contact is in a multi-step flow."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class ConversationState(Base):
    """The open flow of one contact; a row exists only while a flow waits for an answer.

    none ──(flow asks)──▶ open(flow, step) ──(answer)──▶ open(next step) or none
                              └──(expires_at passed, STOP, exit)──▶ none
    """

    __tablename__ = "conversation_states"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), unique=True
    )
    flow: Mapped[str] = mapped_column(String(40))
    step: Mapped[str] = mapped_column(String(40))
    data: Mapped[dict] = mapped_column(default=dict)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

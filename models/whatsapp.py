"""WhatsApp: interactive Content API items (cached) and the approved templates per source."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class ContentItem(Base):
    """One Content API item (HX...) Chaski created for a reply with buttons or a list.

    `digest` is the SHA-256 of the item's definition (type, text, labels, language):
    one item per version of a text, created once and reused for every message.
    A new wording gets a new digest, hence a new item; old rows stay (cheap, harmless).
    """

    __tablename__ = "whatsapp_content_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    content_sid: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(40))  # "twilio/quick-reply" or "twilio/list-picker"
    language: Mapped[str] = mapped_column(String(2))
    friendly_name: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WhatsAppTemplate(Base):
    """An approved WhatsApp template for one proactive source in one language.

    Saved on the console's Plantillas page; it overrides the WHATSAPP_TEMPLATES setting
    for the same source and language. `variables` maps a template placeholder ("1") to
    its value, where "{body}" stands for the message's text on one line.
    """

    __tablename__ = "whatsapp_templates"
    __table_args__ = (UniqueConstraint("source", "language", name="uq_whatsapp_templates_source"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(40))
    language: Mapped[str] = mapped_column(String(2))
    content_sid: Mapped[str] = mapped_column(String(64))
    variables: Mapped[dict]
    updated_by: Mapped[str | None] = mapped_column(String(254))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

"""SQLAlchemy models, one module per domain; Alembic migrations in migrations/."""
from models.base import Base, utcnow
from models.campaigns import Broadcast
from models.contacts import Contact
from models.conversations import ConversationState
from models.handoffs import HandoffRequest
from models.msgs import REDACTED, Message
from models.outbox import OutboxMessage

__all__ = [
    "Base", "utcnow", "Contact", "ConversationState", "HandoffRequest", "Message", "REDACTED",
    "Broadcast", "OutboxMessage",
]

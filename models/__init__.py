"""SQLAlchemy models, one module per domain; Alembic migrations in migrations/."""
from models.base import Base, utcnow
from models.contacts import Contact
from models.conversations import ConversationState
from models.handoffs import HandoffRequest
from models.msgs import REDACTED, Message
from models.reviews import Review
from models.users import ROLES, AuditLog, User

__all__ = [
    "Base", "utcnow", "Contact", "ConversationState", "HandoffRequest", "Message", "REDACTED",
    "Review", "ROLES", "AuditLog", "User",
]

"""SQLAlchemy models, one module per domain; Alembic migrations in migrations/."""
from models.alerts import Alert, AlertArea, AlertInfo
from models.base import Base, utcnow
from models.broadcasts import Broadcast
from models.contacts import Contact
from models.conversations import ConversationState
from models.feeds import AlertFeed, FeedPoll
from models.handoffs import HandoffRequest
from models.heartbeats import Heartbeat
from models.marks import DatabaseMark
from models.msgs import REDACTED, Message
from models.outbox import OutboxMessage
from models.privacy import SuppressedNumber
from models.prices import Market, PriceReport, Product
from models.reminders import Reminder
from models.reviews import Review
from models.subscriptions import Subscription
from models.surveys import Survey, SurveyAnswer, SurveyParticipant
from models.texts import TextOverride, TextsVersion
from models.topics import KbCategory, KbRevision, TopicVersion, UnansweredQuestion
from models.training import TrainingRun
from models.users import ROLES, AuditLog, User
from models.whatsapp import ContentItem, WhatsAppTemplate

__all__ = [
    "Base", "utcnow", "Contact", "ConversationState", "HandoffRequest", "Message", "REDACTED",
    "Market", "Product", "PriceReport", "Alert", "AlertInfo", "AlertArea", "Subscription",
    "Review", "ROLES", "AuditLog", "User", "Broadcast", "OutboxMessage",
    "TrainingRun", "Reminder", "Survey", "SurveyParticipant", "SurveyAnswer", "DatabaseMark",
    "Heartbeat", "AlertFeed", "FeedPoll", "SuppressedNumber", "TextOverride", "TextsVersion",
    "TopicVersion", "KbCategory", "KbRevision", "UnansweredQuestion", "ContentItem",
    "WhatsAppTemplate",
]

"""Staff accounts of the console and the audit log of what they did."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash

from models.base import Base, utcnow

ROLES = ("admin", "coordinator", "reviewer", "counsellor", "translator", "technician")
MAX_FAILED_LOGINS = 5
LOCK_MINUTES = 15


class User(Base):
    """One member of staff who signs in to the console.

    Account status::

        active ──(5 wrong passwords in a row)──▶ locked ──(15 min pass, or admin unlocks)──▶ active
          │                                                                                   ▲
          └──(admin deactivates)──▶ inactive ──(admin reactivates)────────────────────────────┘

    A right password resets the failed-login count. Roles: admin (accounts, audit
    log), coordinator (dashboard, hand-offs), reviewer (review inbox, training
    export; sees masked phone numbers), counsellor (the only role that sees
    conversations about violence), translator (the Textos page: reply texts and topic
    answers in Quechua and Aymara), technician (the knowledge base: edits topics, publishes
    another person's drafts, works the unanswered questions; and the hand-offs of photos and
    voice notes, whose media the queue shows).
    """

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def set_password(self, password: str) -> None:
        """Store a salted hash of `password` (never the password)."""
        self.password_hash = generate_password_hash(password)

    def is_locked(self, now: datetime | None = None) -> bool:
        """Return whether sign-in is refused because of failed attempts."""
        return self.locked_until is not None and self.locked_until > (now or utcnow())

    def check_login(self, password: str, now: datetime | None = None) -> bool:
        """Check `password`, counting failures and locking after too many."""
        now = now or utcnow()
        if not self.active or self.is_locked(now):
            return False
        if check_password_hash(self.password_hash, password):
            self.failed_logins = 0
            self.locked_until = None
            self.last_login_at = now
            return True
        self.failed_logins += 1
        if self.failed_logins >= MAX_FAILED_LOGINS:
            self.locked_until = now + timedelta(minutes=LOCK_MINUTES)
            self.failed_logins = 0
        return False

    # Flask-Login's user interface.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return str(self.id)

    @property
    def sees_restricted(self) -> bool:
        return self.role == "counsellor"

    @property
    def sees_full_phone(self) -> bool:
        return self.role != "reviewer"

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role}>"


class AuditLog(Base):
    """One thing a member of staff did or tried: sign-in, a restricted view, an export.

    Rows are only ever added, never changed or deleted by the app.
    """

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_created_at", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    email: Mapped[str | None] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str | None] = mapped_column(String(120))
    detail: Mapped[dict] = mapped_column(default=dict)
    ip: Mapped[str | None] = mapped_column(String(45))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

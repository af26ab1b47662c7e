"""Who may see what in the console: the pages each role opens, and the restricted-contact rule.

A contact who ever had a conversation about violence is restricted: only the
counsellor role sees their thread, and every page that shows one to a counsellor
is audited.
"""
from __future__ import annotations

from functools import wraps

from flask import abort, request
from flask_login import current_user, login_required
from sqlalchemy import func, or_, select
from sqlalchemy.orm import aliased

from bot.services import services
from flows import support
from models import AuditLog, Message, User

# Which roles open which page; tests walk this table for every role.
ACCESS = {
    "dashboard": {"admin", "coordinator", "reviewer", "counsellor", "translator", "technician"},
    "conversations": {"admin", "coordinator", "reviewer", "counsellor"},
    "review": {"admin", "reviewer"},
    "retrain": {"admin", "reviewer"},
    "handoffs": {"admin", "coordinator", "counsellor", "technician"},  # technicians: their own topic
    "campaigns": {"admin", "coordinator"},
    "surveys": {"admin", "coordinator"},
    "reminders": {"admin", "coordinator"},
    "alerts": {"admin", "coordinator"},
    "prices": {"admin", "coordinator"},
    "contacts": {"admin", "coordinator", "counsellor"},  # counsellors: contacts with a hand-off
    "texts": {"admin", "translator"},
    "users": {"admin"},
    "whatsapp_templates": {"admin"},
    "audit": {"admin"},
    "knowledge": {"admin", "technician"},
    "unanswered": {"admin", "technician"},
}


def allowed(page: str, user=None) -> bool:
    """Return whether `user` (the current one by default) may open `page`."""
    user = user or current_user
    return bool(getattr(user, "is_authenticated", False)) and user.role in ACCESS[page]


def page(name: str):
    """Require a signed-in user whose role may open the page `name` (else 403)."""

    def decorator(view):
        @wraps(view)
        @login_required
        def checked(*args, **kwargs):
            if not allowed(name):
                abort(403)
            return view(*args, **kwargs)

        return checked

    return decorator


def audit(action: str, target: str | None = None, user: User | None = None,
          email: str | None = None, **detail) -> None:
    """Add one row to the audit log, in its own transaction."""
    user = user if user is not None else (current_user if current_user.is_authenticated else None)
    with services().db.session() as session:
        session.add(AuditLog(user_id=user.id if user else None,
                             email=email or (user.email if user else None), action=action,
                             target=target, detail=detail, ip=request.remote_addr))


def _about_violence(m):
    """Return the condition "message `m` belongs to a conversation about violence"."""
    return or_(m.redacted.is_(True), m.flow == support.FLOW)


def restricted_contacts():
    """Return a subquery of the contacts who had a conversation about violence."""
    m = aliased(Message)
    # Not the unlinked rows of erased contacts: a NULL in NOT IN (...) would hide everyone.
    return select(m.contact_id).where(_about_violence(m), m.contact_id.is_not(None))


def is_restricted(session, contact_id: int) -> bool:
    """Return whether the thread of `contact_id` holds a conversation about violence."""
    m = aliased(Message)
    return session.scalar(select(func.count()).select_from(m).where(
        m.contact_id == contact_id, _about_violence(m))) > 0


def audit_restricted_listing(session, contact_ids, where: str) -> None:
    """Audit a page that shows a counsellor any contact with a violence conversation."""
    ids = sorted(set(contact_ids))
    if not ids:
        return
    query = restricted_contacts()
    shown = session.scalars(query.where(query.selected_columns[0].in_(ids)).distinct()).all()
    if shown:
        audit("restricted_list", target=where, contacts=sorted(shown))

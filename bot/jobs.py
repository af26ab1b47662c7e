"""Scheduled jobs: each takes its session and `now` and returns a dict of counts."""
from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.orm import Session

from models import ConversationState, utcnow

log = logging.getLogger(__name__)


def expire_conversations(session: Session, now: datetime) -> dict:
    """Delete conversation states whose time ran out."""
    result = session.execute(delete(ConversationState).where(ConversationState.expires_at <= now))
    return {"expired": result.rowcount or 0}


def send_due_broadcasts(session: Session, now: datetime) -> dict:
    """Write the outbox rows of broadcasts whose time has come (the sender sends them)."""
    from bot.proactive.broadcasts import send_due_broadcasts as due

    return due(session, now)


def retrain_nlu(session: Session, now: datetime) -> dict:
    """Run the oldest queued NLU retraining (minutes of work; never in a web worker)."""
    from bot.training.runs import run_queued

    return run_queued(session, now)


def send_price_digest(session: Session, now: datetime) -> dict:
    """Queue this week's price digest for each price subscriber."""
    from bot.proactive.digests import send_price_digest as digest

    return digest(session, now)


def send_calendar_tips(session: Session, now: datetime) -> dict:
    """Queue this month's agroecological calendar tip for each subscriber."""
    from bot.proactive.digests import send_calendar_tips as tips

    return tips(session, now)


def send_due_reminders(session: Session, now: datetime) -> dict:
    """Queue the reminders due today, relative to each contact's dates."""
    from bot.proactive.reminders import send_due_reminders as due

    return due(session, now)


def send_survey_reminders(session: Session, now: datetime) -> dict:
    """Close surveys past their end and queue one reminder to invited contacts who never answered."""
    from bot.surveys.service import send_survey_reminders as remind

    return remind(session, now)


JOBS = {"expire_conversations": expire_conversations, "send_due_broadcasts": send_due_broadcasts,
        "send_price_digest": send_price_digest, "send_calendar_tips": send_calendar_tips,
        "send_due_reminders": send_due_reminders, "retrain_nlu": retrain_nlu,
        "send_survey_reminders": send_survey_reminders}


def run_job(name: str, database_url: str) -> dict:
    """Run job `name` in its own transaction and log its counts (APScheduler calls this)."""
    from bot.db import Database

    db = Database(database_url)
    try:
        with db.session() as session:
            counts = JOBS[name](session, utcnow())
        log.info("job %s: %s", name, counts)
        return counts
    finally:
        db.dispose()

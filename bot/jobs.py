"""Every scheduled job by name, gathered from the packages' jobs modules, and `run_job`.

A job takes its session and `now` and returns a dict of counts. bot/scheduler.py's
TIMETABLE says when each runs; APScheduler stores "bot.jobs:run_job" with the job's
name, so this module stays where it is.
"""
from __future__ import annotations

import logging

from bot.conversations import jobs as conversation_jobs
from bot.db import Database
from bot.knowledge import jobs as knowledge_jobs
from bot.monitoring import metrics
from bot.privacy import retention
from bot.proactive import jobs as proactive_jobs
from bot.surveys import jobs as survey_jobs
from bot.training import jobs as training_jobs
from models import utcnow
from models.heartbeats import SCHEDULER, beat

log = logging.getLogger(__name__)


def scheduler_heartbeat(session, now) -> dict:
    """Record that the scheduler runs its jobs (/healthz's scheduler_seen)."""
    beat(session, SCHEDULER, now)
    return {"beat": 1}


JOBS = {**conversation_jobs.JOBS, **proactive_jobs.JOBS, **training_jobs.JOBS, **survey_jobs.JOBS,
        **knowledge_jobs.JOBS, **retention.JOBS, "scheduler_heartbeat": scheduler_heartbeat}


def run_job(name: str, database_url: str) -> dict:
    """Run job `name` in its own transaction and log its counts (APScheduler calls this)."""
    db = Database(database_url)
    try:
        with metrics.timed_job(name), db.session() as session:
            counts = JOBS[name](session, utcnow())
        log.info("job %s: %s", name, counts)
        return counts
    finally:
        db.dispose()

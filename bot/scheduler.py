"""The one scheduler process: APScheduler with a persistent SQLAlchemy job store.

Run it once (`flask --app server scheduler`), never inside web workers. The whole
timetable is TIMETABLE below.
"""
from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.blocking import BlockingScheduler

log = logging.getLogger(__name__)
LIMA = ZoneInfo("America/Lima")

# id -> (job name in bot.jobs.JOBS, trigger, trigger arguments)
TIMETABLE = {
    "expire-conversations": ("expire_conversations", "interval", {"minutes": 15}),
    # Builds outbox rows only; the sender process (`flask --app server sender`) sends them.
    "send-due-broadcasts": ("send_due_broadcasts", "interval", {"minutes": 1}),
    # Survey reminders go through the outbox too (quiet hours, opt-out at send time).
    "send-survey-reminders": ("send_survey_reminders", "interval", {"minutes": 15}),
}


def build_scheduler(database_url: str, scheduler_class=BlockingScheduler):
    """Return a scheduler with the job store, defaults and the whole timetable."""
    scheduler = scheduler_class(
        jobstores={"default": SQLAlchemyJobStore(url=database_url, tablename="scheduler_jobs")},
        timezone=LIMA,
        # A restart must neither drop a job that came due while we were down nor run it twice.
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600},
    )
    for job_id, (name, trigger, args) in TIMETABLE.items():
        scheduler.add_job("bot.jobs:run_job", trigger, args=[name, database_url], id=job_id,
                          name=name, replace_existing=True, **args)
    return scheduler


def run(database_url: str) -> None:
    """Start the blocking scheduler until Ctrl-C or SIGTERM."""
    scheduler = build_scheduler(database_url)
    log.info("scheduler starting with %d job(s): %s", len(TIMETABLE), ", ".join(TIMETABLE))
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        log.info("scheduler stopped")

"""The one scheduler process: APScheduler with a persistent SQLAlchemy job store.

Run it once (`flask --app server scheduler`), never inside web workers. The whole
timetable is TIMETABLE below. A restart keeps each unchanged job's stored next run
time, so a run that came due while the scheduler was down (or killed) still runs,
once (misfire grace time, coalesce), instead of being pushed to a fresh interval.
"""
from __future__ import annotations

import logging

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.exc import SQLAlchemyError

from bot.clock import LIMA
from bot.jobs import run_job
from bot.settings import from_env

log = logging.getLogger(__name__)

# id -> (job name in bot.jobs.JOBS, trigger, trigger arguments)
TIMETABLE = {
    # /healthz's scheduler_seen: proof that this process is up and runs its jobs.
    "heartbeat": ("scheduler_heartbeat", "interval", {"minutes": 1}),
    "expire-conversations": ("expire_conversations", "interval", {"minutes": 15}),
    # Builds outbox rows only; the sender process (`flask --app server sender`) sends them.
    "send-due-broadcasts": ("send_due_broadcasts", "interval", {"minutes": 1}),
    # Runs a retraining queued from the console (TrainingRun); max_instances 1 (job_defaults).
    "retrain-nlu": ("retrain_nlu", "interval", {"minutes": 1}),
    # Recurring messages (bot/proactive/digests.py, reminders.py), Lima time; re-runs add nothing.
    "weekly-price-digest": ("send_price_digest", "cron", {"day_of_week": "mon", "hour": 7, "minute": 30}),
    "monthly-calendar-tip": ("send_calendar_tips", "cron", {"day": 1, "hour": 8, "minute": 0}),
    "daily-reminders": ("send_due_reminders", "cron", {"hour": 8, "minute": 15}),
    # Survey reminders go through the outbox too (quiet hours, opt-out at send time).
    "send-survey-reminders": ("send_survey_reminders", "interval", {"minutes": 15}),
    # CAP feeds (bot/knowledge/feeds.py): each feed in its own transactions, failing ones back off.
    "poll-alert-feeds": ("poll_alert_feeds", "interval", {"minutes": from_env().alert_poll_minutes}),
    # RETENTION_DAYS: old message bodies blanked, finished outbox bodies after 30 days.
    "daily-retention": ("enforce_retention", "cron", {"hour": 3, "minute": 30}),
}


JOB_TABLE = "scheduler_jobs"
TRIGGERS = {"interval": IntervalTrigger, "cron": CronTrigger, "date": DateTrigger}


def stored_jobs(database_url: str) -> dict:
    """Return job id -> (trigger text, args, next run time) as the job store holds them."""
    store = SQLAlchemyJobStore(url=database_url, tablename=JOB_TABLE)
    try:
        return {job.id: (str(job.trigger), list(job.args), job.next_run_time)
                for job in store.get_all_jobs()}
    except SQLAlchemyError:  # first start: no table yet
        return {}
    finally:
        store.engine.dispose()


def build_scheduler(database_url: str, scheduler_class=BlockingScheduler):
    """Return a scheduler with the job store, defaults and the whole timetable."""
    stored = stored_jobs(database_url)
    scheduler = scheduler_class(
        jobstores={"default": SQLAlchemyJobStore(url=database_url, tablename=JOB_TABLE)},
        timezone=LIMA,
        # A restart must neither drop a job that came due while we were down nor run it twice.
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600},
    )
    for job_id, (name, kind, trigger_args) in TIMETABLE.items():
        trigger = TRIGGERS[kind](timezone=LIMA, **trigger_args)
        args = [name, database_url]
        keep = {}
        old = stored.get(job_id)
        if old and old[:2] == (str(trigger), args) and old[2] is not None:
            keep["next_run_time"] = old[2]  # unchanged job: a missed run is still due
        scheduler.add_job("bot.jobs:run_job", trigger, args=args, id=job_id, name=name,
                          replace_existing=True, **keep)
    return scheduler


def run(database_url: str) -> None:
    """Start the blocking scheduler until Ctrl-C or SIGTERM."""
    scheduler = build_scheduler(database_url)
    run_job("scheduler_heartbeat", database_url)  # seen at once, not only a minute from now
    log.info("scheduler starting with %d job(s): %s", len(TIMETABLE), ", ".join(TIMETABLE))
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        log.info("scheduler stopped")

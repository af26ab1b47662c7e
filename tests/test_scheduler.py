"""The scheduler's job store, timetable and jobs."""
from datetime import timedelta

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import select, text

from bot.conversations.jobs import expire_conversations
from bot.jobs import run_job
from bot.clock import LIMA
from bot.scheduler import JOB_TABLE, TIMETABLE, build_scheduler
from models import Contact, ConversationState, utcnow


def test_timetable_is_persisted_once_across_restarts(database_url, app):
    for _ in range(2):  # a restart re-adds the same ids: replaced, not doubled
        scheduler = build_scheduler(database_url, BackgroundScheduler)
        scheduler.start(paused=True)
        jobs = scheduler.get_jobs()
        assert sorted(job.id for job in jobs) == sorted(TIMETABLE)
        assert all(job.misfire_grace_time >= 600 and job.coalesce for job in jobs)
        scheduler.shutdown(wait=False)
    assert str(scheduler.timezone) == str(LIMA)
    with app.extensions["chaski"].db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM scheduler_jobs")).scalar() == len(TIMETABLE)


def test_expire_conversations_returns_counts(db, database_url):
    now = utcnow()
    with db.session() as s:
        a, b = Contact(phone="+51900000021"), Contact(phone="+51900000022")
        s.add_all([a, b])
        s.flush()
        s.add_all([
            ConversationState(contact_id=a.id, flow="onboarding", step="consent",
                              expires_at=now - timedelta(minutes=1)),
            ConversationState(contact_id=b.id, flow="onboarding", step="consent",
                              expires_at=now + timedelta(minutes=30)),
        ])
    with db.session() as s:
        assert expire_conversations(s, now) == {"expired": 1}
    assert run_job("expire_conversations", database_url) == {"expired": 0}
    with db.session() as s:
        assert len(s.scalars(select(ConversationState)).all()) == 1


def store_timetable(database_url: str) -> None:
    """Write the timetable into the job store, as a first scheduler start does."""
    scheduler = build_scheduler(database_url, BackgroundScheduler)
    scheduler.start(paused=True)
    scheduler.shutdown(wait=False)


def move_next_run(database_url: str, job_id: str, when) -> None:
    """Set a stored job's next run time, as if the scheduler had been down since `when`."""
    store = SQLAlchemyJobStore(url=database_url, tablename=JOB_TABLE)
    store.start(BackgroundScheduler(timezone=LIMA), "default")  # never started: no thread
    try:
        job = store.lookup_job(job_id)
        job._modify(next_run_time=when)
        store.update_job(job)
    finally:
        store.engine.dispose()


def test_a_restart_keeps_a_missed_run_due_unless_the_job_changed(database_url, app, monkeypatch):
    missed = utcnow().replace(microsecond=0) - timedelta(minutes=3)
    store_timetable(database_url)
    move_next_run(database_url, "send-due-broadcasts", missed)
    move_next_run(database_url, "expire-conversations", missed)
    # The scheduler was down past both run times; meanwhile one job's interval changed.
    monkeypatch.setitem(TIMETABLE, "expire-conversations",
                        ("expire_conversations", "interval", {"minutes": 30}))
    scheduler = build_scheduler(database_url, BackgroundScheduler)
    scheduler.start(paused=True)
    try:
        assert scheduler.get_job("send-due-broadcasts").next_run_time == missed
        assert scheduler.get_job("expire-conversations").next_run_time > utcnow()
    finally:
        scheduler.shutdown(wait=False)

"""The real scheduler process on PostgreSQL: SIGKILL during a due broadcast job, then restart."""
from __future__ import annotations

import os
import re
import signal
import subprocess
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, text

from bot.proactive import broadcasts
from bot.services import services
from bot.scheduler import JOB_TABLE, TIMETABLE
from models import Broadcast, OutboxMessage, utcnow
from tests.conftest import closed_port_url, make_app
from tests.fakes.outbox import add_contacts, holding_outbox_key
from tests.outbound.test_outbox_crash import FLASK, ROOT, wait_for
from tests.test_scheduler import move_next_run, store_timetable

CONTACTS = 2500
JOB = "send-due-broadcasts"
# Each scheduler start gets its own PostgreSQL application_name (libpq reads PGAPPNAME),
# so the test can see that start's connections and nobody else's.
APP_NAME = "chaski-scheduler-crash-{}"


@pytest.fixture
def pg_db(database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("killing the scheduler mid-job needs PostgreSQL (row locks, pg_stat_activity)")
    app = make_app(database_url)
    db = services(app).db
    with db.engine.begin() as conn:
        conn.execute(text(f"DROP TABLE IF EXISTS {JOB_TABLE}"))
        conn.execute(text("TRUNCATE outbox, broadcasts, contacts RESTART IDENTITY CASCADE"))
    yield db
    db.dispose()


def start_scheduler(database_url: str, start: int, log_path):
    """Start `flask --app server scheduler` in its own process group, logging to `log_path`."""
    env = {**os.environ, "DATABASE_URL": database_url, "NLU_URL": closed_port_url(),
           "SECRET_KEY": "test", "PGAPPNAME": APP_NAME.format(start)}
    for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"):
        env.pop(name, None)
    with open(log_path, "ab") as log:  # the child keeps its own copy of the descriptor
        return subprocess.Popen([*FLASK, "scheduler"], env=env, cwd=ROOT, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)


def stop(proc, sig=signal.SIGKILL) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, sig)
    proc.wait(20)


def backends(db, start: int, lock_waits_only: bool = False) -> int:
    query = "SELECT count(*) FROM pg_stat_activity WHERE application_name = :name"
    if lock_waits_only:
        query += " AND wait_event_type = 'Lock'"
    with db.engine.connect() as conn:
        return conn.execute(text(query), {"name": APP_NAME.format(start)}).scalar()


def runs_of(log: str) -> list[datetime]:
    """Return the scheduled time of each run of the due job that APScheduler started."""
    return [datetime.fromisoformat(when) for when in
            re.findall(r'Running job "send_due_broadcasts \(.*?\)" \(scheduled at ([^)]+)\)', log)]


def test_sigkill_during_the_due_job_then_restart_builds_each_broadcast_once(pg_db, database_url,
                                                                           tmp_path):
    db, now = pg_db, utcnow()
    with db.session() as s:
        contacts = add_contacts(s, CONTACTS, now=now)
        once = broadcasts.create(s, name="precios", texts={"es": "Papa: S/ 1.20 el kilo"}, now=now)
        weekly = broadcasts.create(s, name="semanal", texts={"es": "Consejo de la semana"},
                                   cron="0 8 * * 1", now=now)
        broadcasts.schedule(s, once, now).next_run_at = now - timedelta(minutes=2)
        broadcasts.schedule(s, weekly, now).next_run_at = due = now - timedelta(minutes=1)
        once_id, weekly_id, last_id = once.id, weekly.id, contacts[-1].id
    store_timetable(database_url)
    move_next_run(database_url, JOB, now - timedelta(seconds=30))  # due as the scheduler starts
    logs = [tmp_path / "scheduler-1.log", tmp_path / "scheduler-2.log"]

    # An open transaction holding one key of the first broadcast makes the real job wait in
    # the middle of its INSERT (2,499 rows written, not committed): we kill it there.
    with holding_outbox_key(db, f"broadcast:{once_id}:once:contact:{last_id}", last_id, now):
        first = start_scheduler(database_url, 1, logs[0])
        try:
            assert wait_for(lambda: backends(db, 1, lock_waits_only=True) == 1, 120), \
                "the due job never reached its INSERT: " + logs[0].read_text()[-2000:]
            stop(first)  # SIGKILL to the whole process group
        finally:
            stop(first)
    # The killed job's server process finishes its statement, finds no client, rolls back.
    assert wait_for(lambda: backends(db, 1) == 0, 60)

    def state():
        with db.session() as s:
            rows = s.scalar(select(func.count()).select_from(OutboxMessage))
            b1, b2 = s.get(Broadcast, once_id), s.get(Broadcast, weekly_id)
            return rows, (b1.status, b1.runs), (b2.status, b2.runs, b2.next_run_at)

    assert state() == (0, ("scheduled", 0), ("scheduled", 0, due))
    with db.engine.connect() as conn:
        stored = dict(conn.execute(text(f"SELECT id, next_run_time FROM {JOB_TABLE}")).all())
    assert set(stored) == set(TIMETABLE)
    # APScheduler moved the job's next run before running it. The scheduler now stays down
    # past that time (set into the past rather than waited for): a missed run, due at restart.
    restart_at = utcnow()
    move_next_run(database_url, JOB, restart_at - timedelta(minutes=3, seconds=30))  # 4 missed

    second = start_scheduler(database_url, 2, logs[1])
    try:
        assert wait_for(lambda: state()[1] == ("done", 1), 120), logs[1].read_text()[-3000:]
        assert wait_for(lambda: "job send_due_broadcasts: {'broadcasts': 2" in
                        logs[1].read_text(), 30)
    finally:
        stop(second, signal.SIGTERM)

    rows, once_state, weekly_state = state()
    assert rows == 2 * CONTACTS and once_state == ("done", 1)
    next_weekly = broadcasts.cron_trigger("0 8 * * 1").get_next_fire_time(
        None, restart_at).astimezone(timezone.utc)
    assert weekly_state[:2] == ("scheduled", 1) and weekly_state[2] >= next_weekly  # moved once
    assert weekly_state[2] < next_weekly + timedelta(days=7)
    with db.session() as s:
        per_contact = Counter(s.execute(select(OutboxMessage.broadcast_id,
                                               OutboxMessage.contact_id)).all())
        keys = set(s.scalars(select(OutboxMessage.key)))
    assert len(per_contact) == 2 * CONTACTS and set(per_contact.values()) == {1}
    tag = due.strftime("%Y%m%dT%H%MZ")
    assert f"broadcast:{weekly_id}:{tag}:contact:{last_id}" in keys
    # The first start ran the due job and died in it: it never finished.
    first_log = logs[0].read_text()
    assert len(runs_of(first_log)) == 1 and "job send_due_broadcasts:" not in first_log
    # The four missed runs were coalesced into one run, the one due before the restart
    # (not a fresh run a minute later), and it built both broadcasts; no other run did.
    log = logs[1].read_text()
    assert [when < restart_at for when in runs_of(log)][:1] == [True], log[-3000:]
    assert sum(when < restart_at for when in runs_of(log)) == 1, log[-3000:]
    built = re.findall(r"job send_due_broadcasts: \{'broadcasts': (\d+)", log)
    assert [n for n in built if n != "0"] == ["2"], log[-3000:]
    assert "maximum number of running instances" not in log
    with db.engine.connect() as conn:
        stored = dict(conn.execute(text(f"SELECT id, next_run_time FROM {JOB_TABLE}")).all())
    assert set(stored) == set(TIMETABLE)  # the timetable is still there, once
    assert stored[JOB] > restart_at.timestamp()  # and no missed run is left behind

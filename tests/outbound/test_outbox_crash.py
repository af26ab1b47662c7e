"""Real sender processes on PostgreSQL: SIGKILL mid-broadcast, and two senders at once."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from bot.proactive import broadcasts
from bot.services import services
from models import Broadcast, OutboxMessage, utcnow
from tests.conftest import OUTPUT_DIR, closed_port_url
from tests.fakes.twilio_api import FAKE_ACCOUNT_SID, FAKE_AUTH_TOKEN
from tests.fakes.outbox import SMS_FROM, add_contacts, holding_outbox_key, outbox_app

ROOT = Path(__file__).resolve().parents[2]
FLASK = [str(ROOT / ".venv" / "bin" / "flask"), "--app", "server"]


@pytest.fixture
def pg_app(database_url, fake_twilio):
    if not database_url.startswith("postgresql"):
        pytest.skip("several sender processes need PostgreSQL (SKIP LOCKED)")
    app = outbox_app(database_url, fake_twilio)
    yield app
    services(app).db.dispose()


def sender_env(database_url: str, fake) -> dict:
    return {**os.environ, "DATABASE_URL": database_url, "TWILIO_ACCOUNT_SID": FAKE_ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": FAKE_AUTH_TOKEN, "TWILIO_API_BASE_URL": fake.base_url,
            "TWILIO_SMS_FROM": SMS_FROM, "OUTBOX_RATE_SMS": "0", "OUTBOX_LEASE_SECONDS": "2",
            "OUTBOX_BATCH": "20", "NLU_URL": closed_port_url(), "SECRET_KEY": "test"}


def queue_broadcast(app, n: int) -> list[str]:
    """Queue a red-alert broadcast (not held by quiet hours) to n FAKE contacts; return phones."""
    db = services(app).db
    now = utcnow()
    with db.session() as s:
        phones = [c.phone for c in add_contacts(s, n, now=now)]
        b = broadcasts.create(s, name="helada", texts={"es": "Alerta roja: helada esta noche."},
                              urgent=True, now=now)
        assert broadcasts.run(s, broadcasts.schedule(s, b, now), now)["queued"] == n
    return phones


def wait_for(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def test_sigkill_mid_broadcast_then_restart_sends_each_exactly_once(pg_app, database_url,
                                                                     fake_twilio):
    phones = queue_broadcast(pg_app, 2000)
    env = sender_env(database_url, fake_twilio)
    proc = subprocess.Popen([*FLASK, "sender"], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert wait_for(lambda: len(fake_twilio.messages) >= 700, 120), "sender never got going"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    fake_twilio.wait_idle(5)
    at_kill = len(fake_twilio.messages)
    with services(pg_app).db.session() as s:
        stuck = s.scalar(select(func.count()).select_from(OutboxMessage)
                         .where(OutboxMessage.status == "sending"))
    assert at_kill < 2000, "the kill came too late to test anything"
    restart = subprocess.run([*FLASK, "sender", "--once"], env=env, cwd=ROOT, capture_output=True,
                             text=True, timeout=300)
    assert restart.returncode == 0, restart.stderr[-2000:]
    per_phone = Counter(m["to"] for m in fake_twilio.messages)
    assert len(per_phone) == 2000 and set(per_phone) == set(phones)
    assert [p for p, n in per_phone.items() if n != 1] == []
    with services(pg_app).db.session() as s:
        statuses = dict(s.execute(select(OutboxMessage.status, func.count())
                                  .group_by(OutboxMessage.status)).all())
        sids = set(s.scalars(select(OutboxMessage.twilio_sid)))
    assert statuses == {"sent": 2000}
    assert sids == {m["sid"] for m in fake_twilio.messages}
    OUTPUT_DIR.mkdir(exist_ok=True)
    report = {"recipients": 2000, "sent_before_kill": at_kill, "left_in_sending": stuck,
              "restart": json.loads(restart.stdout.strip().splitlines()[-1]),
              "max_per_recipient": max(per_phone.values())}
    (OUTPUT_DIR / "outbox-crash.json").write_text(json.dumps(report, indent=1))


def test_two_senders_at_once_send_nothing_twice(pg_app, database_url, fake_twilio):
    phones = queue_broadcast(pg_app, 1000)
    env = sender_env(database_url, fake_twilio)
    procs = [subprocess.Popen([*FLASK, "sender", "--once"], env=env, cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
             for _ in range(2)]
    outputs = [p.communicate(timeout=300)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    per_phone = Counter(m["to"] for m in fake_twilio.messages)
    assert set(per_phone) == set(phones) and max(per_phone.values()) == 1
    sent = [json.loads(out.strip().splitlines()[-1]).get("sent", 0) for out in outputs]
    assert sum(sent) == 1000
    with services(pg_app).db.session() as s:
        assert s.scalar(select(func.count()).select_from(OutboxMessage)
                        .where(OutboxMessage.status != "sent")) == 0


def test_due_job_killed_mid_way_leaves_nothing_and_reruns_once(pg_app, database_url):
    """What a scheduler restart during `send_due_broadcasts` does: the job dies, then runs again."""
    db = services(pg_app).db
    now = utcnow()
    with db.session() as s:
        contacts = add_contacts(s, 10_000, now=now)
        b = broadcasts.create(s, name="precios", texts={"es": "Papa: S/ 1.20 el kilo"}, now=now)
        broadcasts.schedule(s, b, now)
        b_id, last_id = b.id, contacts[-1].id
    # An open transaction holding one of the job's keys makes the job wait in the middle
    # of its INSERT, with the other 9,999 rows written but not committed: then we kill it.
    job = ["-c", f"from bot.jobs import run_job; run_job('send_due_broadcasts', {database_url!r})"]
    python = str(ROOT / ".venv" / "bin" / "python")
    with holding_outbox_key(db, f"broadcast:{b_id}:once:contact:{last_id}", last_id, now):
        proc = subprocess.Popen([python, *job], cwd=ROOT, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL,
                                env={**os.environ, "PGAPPNAME": "chaski-due-job-test"})
        try:
            def job_waits() -> bool:
                with db.engine.connect() as conn:
                    return conn.execute(text(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                        "AND application_name = 'chaski-due-job-test'")).scalar() == 1

            assert wait_for(job_waits, 60), "the job never reached its INSERT"
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)
        finally:
            if proc.poll() is None:
                proc.kill()

    def state():
        with db.session() as s:
            rows = s.scalar(select(func.count()).select_from(OutboxMessage))
            return rows, s.get(Broadcast, b_id).status

    assert state() == (0, "scheduled")  # nothing of the half-built broadcast survived
    again = subprocess.run([python, *job], cwd=ROOT, timeout=120, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr[-2000:]
    assert state() == (10_000, "done")
    with db.session() as s:
        assert s.scalar(select(func.count(func.distinct(OutboxMessage.contact_id)))) == 10_000


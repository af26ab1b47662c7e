"""Metrics across processes: gunicorn's two workers and a sender process share
PROMETHEUS_MULTIPROC_DIR, and every scrape, whichever worker answers it, adds them all up."""
from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
import requests

from bot.clock import now as clock_now
from bot.db import Database, migrate
from models import OutboxMessage
from nlu.server import free_port
from tests.conftest import closed_port_url
from tests.fakes.outbox import SMS_FROM, add_contacts
from tests.fakes.signing import inbound_form, new_sid, signature
from tests.fakes.twilio_api import FAKE_ACCOUNT_SID, FAKE_AUTH_TOKEN
from tests.monitoring.test_metrics import samples, value

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "multiprocess-metrics-token"
WEBHOOK = "/webhooks/twilio"


def env_for(tmp_path: Path, port: int, fake, **extra) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TWILIO_", "WEB_", "NLU_", "PROMETHEUS_", "METRICS_", "OUTBOX_"))
           and k not in {"PORT", "CHASKI_ENV"}}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'mp.sqlite'}", SECRET_KEY="test-only",
               NLU_URL=closed_port_url(), PORT=str(port), WEB_WORKERS="2",
               PUBLIC_URL=f"http://127.0.0.1:{port}", TWILIO_ACCOUNT_SID=FAKE_ACCOUNT_SID,
               TWILIO_AUTH_TOKEN=FAKE_AUTH_TOKEN, TWILIO_API_BASE_URL=fake.base_url,
               TWILIO_SMS_FROM=SMS_FROM, OUTBOX_RATE_SMS="0", METRICS_TOKEN=TOKEN,
               PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"), **extra)
    return env


def worker_pids(master: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(master)], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result = predicate()
        except OSError:
            result = None
        if result:
            return result
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


def counted_by(tmp_path) -> set[str]:
    """Return the pids of the processes that wrote counters into the metrics directory."""
    return {f.stem.split("_")[-1] for f in (tmp_path / "metrics").glob("counter_*.db")}


def test_workers_and_a_sender_add_up_in_every_scrape(tmp_path, fake_twilio):
    port = free_port()
    env = env_for(tmp_path, port, fake_twilio)
    url = f"http://127.0.0.1:{port}"
    migrate(env["DATABASE_URL"])
    db = Database(env["DATABASE_URL"])
    now = clock_now()
    with db.session() as s:  # five rows due now, sent below by a separate sender process
        for i, contact in enumerate(add_contacts(s, 5)):
            s.add(OutboxMessage(key=f"mp:{i}", source="test", contact_id=contact.id, channel="sms",
                                body="Aviso de prueba", status="queued", attempts=0, urgent=True,
                                next_attempt_at=now, created_at=now, updated_at=now))
    db.dispose()
    web = subprocess.Popen([str(ROOT / ".venv/bin/gunicorn"), "-c", "deploy/gunicorn.conf.py",
                            "server:app"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True)
    session = requests.Session()
    session.trust_env = False
    session.headers["Connection"] = "close"  # a new connection each time: either worker answers

    def post(n: int) -> None:
        for _ in range(n):
            form = inbound_form("1", sid=new_sid())
            r = session.post(url + WEBHOOK, data=form,
                             headers={"X-Twilio-Signature": signature(url + WEBHOOK, form)}, timeout=10)
            assert r.status_code == 200, r.text

    def metrics() -> dict:
        r = session.get(url + "/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
        assert r.status_code == 200, r.text
        return samples(r.text)

    def webhooks(found) -> float:
        return value(found, "chaski_webhook_request_seconds_count", path=WEBHOOK, channel="sms")

    try:
        wait_for(lambda: urllib.request.urlopen(url + "/livez", timeout=2).status == 200, 60, "gunicorn")
        wait_for(lambda: len(worker_pids(web.pid)) == 2, 30, "two workers")
        # Which worker accepts a connection is up to the kernel: post until both have counted.
        workers, posted = {str(pid) for pid in worker_pids(web.pid)}, 0
        while posted < 300 and counted_by(tmp_path) != workers:
            post(10)
            posted += 10
        assert counted_by(tmp_path) == workers, f"one worker answered all {posted} requests"
        assert [webhooks(metrics()) for _ in range(6)] == [posted] * 6  # whichever worker answers
        # A worker dies (its counters stay in the directory) and gunicorn starts another.
        first_workers = worker_pids(web.pid)
        os.kill(first_workers[0], signal.SIGTERM)
        wait_for(lambda: (set(worker_pids(web.pid)) - set(first_workers)
                          and len(worker_pids(web.pid)) == 2), 30, "a new worker")
        post(10)
        assert webhooks(metrics()) == posted + 10
        sender = subprocess.run([str(ROOT / ".venv/bin/flask"), "--app", "server", "sender", "--once"],
                                cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert sender.returncode == 0, sender.stderr
        found = metrics()
        assert value(found, "chaski_twilio_sends_total", channel="sms", outcome="sent") == 5
        assert value(found, "chaski_outbox_messages", status="queued") == 0  # (sent: counted once a minute)
        assert value(found, "chaski_outbox_messages", status="sending") == 0
        assert len(fake_twilio.messages) == 5
    finally:
        web.send_signal(signal.SIGTERM)
        try:
            web.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            web.kill()
            web.communicate()

"""The production smoke test: the whole process set on loopback, as deploy/systemd runs it.

gunicorn (2 workers), the real Rasa server behind NLU_TOKEN, the scheduler and two senders,
all with CHASKI_ENV=production, on a fresh PostgreSQL database reached through a TCP relay
(tests/fakes/tcp_proxy.py) so the database can be cut without touching the shared server,
and the fake Twilio API. 500 signed inbound SMS from 50 contacts and a 2,000-contact
broadcast go through while every process gets one SIGTERM and is started again. Select it
with `-m smoke`; it prints its figures.
"""
from __future__ import annotations

import os
import shutil
import statistics
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import aliased

from bot import clock
from bot.db import Database
from bot.proactive import broadcasts
from models import Message, OutboxMessage
from nlu.runtime import train
from nlu.server import RasaServer, free_port
from tests.conftest import OUTPUT_DIR
from tests.deploy.smoke import ROOT, InboundTraffic, MetricsPoller, Service, session, total
from tests.fakes.outbox import SMS_FROM, add_contacts
from tests.fakes.tcp_proxy import TcpProxy
from tests.fakes.twilio_api import FAKE_ACCOUNT_SID, FAKE_AUTH_TOKEN, start_fake_twilio

pytestmark = pytest.mark.smoke

NLU_TOKEN, METRICS_TOKEN = "smoke-nlu-token", "smoke-metrics-token"
CONTACTS, PER_CONTACT, AUDIENCE = 50, 10, 2000
# FAKE numbers: +51 900 000 010..059 write in; the audience is +51 910 000 000 upward.
PHONES = [f"+519000000{10 + i:02d}" for i in range(CONTACTS)]
TEXTS = ["hola", "1", "cuanto esta la papa en huancayo", "2", "como preparo biol", "menu",
         "3", "mañana hay helada?", "gracias", "0"]
FLASK = [str(ROOT / ".venv/bin/flask"), "--app", "server"]


def with_database(url: str, name: str, host: str | None = None, port: int | None = None) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc
    if host:
        netloc = f"{parts.username}@{host}:{port}" if parts.username else f"{host}:{port}"
    return urlunsplit((parts.scheme, netloc, f"/{name}", parts.query, ""))


@pytest.fixture
def smoke_database():
    """Yield a fresh PostgreSQL database next to TEST_DATABASE_URL's, dropped afterwards."""
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        pytest.skip("TEST_DATABASE_URL is not set: the smoke test needs PostgreSQL")
    name = urlsplit(base).path.lstrip("/") + "_smoke"
    admin = create_engine(with_database(base, "postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield with_database(base, name)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def wait_until(predicate, timeout: float, what: str, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result = predicate()
        except Exception:  # noqa: BLE001 - still coming up
            result = None
        if result:
            return result
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


def production_env(database_url: str, port: int, nlu_url: str, twilio_url: str, metrics_dir: Path):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TWILIO_", "NLU_", "WEB_", "OUTBOX_", "PROMETHEUS_", "METRICS_"))
           and k not in {"PORT", "PUBLIC_URL", "SECRET_KEY", "DATABASE_URL", "TRUSTED_PROXIES"}}
    env.update(CHASKI_ENV="production", DATABASE_URL=database_url, SECRET_KEY="smoke-secret-key",
               PUBLIC_URL=f"http://127.0.0.1:{port}", PORT=str(port), WEB_WORKERS="2",
               WEB_THREADS="4", NLU_URL=nlu_url, NLU_TOKEN=NLU_TOKEN, METRICS_TOKEN=METRICS_TOKEN,
               PROMETHEUS_MULTIPROC_DIR=str(metrics_dir), TWILIO_ACCOUNT_SID=FAKE_ACCOUNT_SID,
               TWILIO_AUTH_TOKEN=FAKE_AUTH_TOKEN, TWILIO_API_BASE_URL=twilio_url,
               TWILIO_SMS_FROM=SMS_FROM, OUTBOX_RATE_SMS="30", OUTBOX_LEASE_SECONDS="20",
               PYTHONUNBUFFERED="1")
    return env


def add_audience(database_url: str) -> list[str]:
    """Add the broadcast's audience; return their phones."""
    db = Database(database_url)
    try:
        with db.session() as s:
            return [c.phone for c in add_contacts(s, AUDIENCE, now=clock.now() - timedelta(days=30),
                                                  region="ancash")]
    finally:
        db.dispose()


def queue_broadcast(database_url: str) -> None:
    """Schedule an urgent broadcast to the audience, due now: the scheduler builds its rows."""
    db = Database(database_url)
    now = clock.now()
    try:
        with db.session() as s:
            b = broadcasts.create(s, name="helada", texts={"es": "Alerta roja: helada esta noche."},
                                  segment={"region": ["ancash"]}, urgent=True, now=now)
            broadcasts.schedule(s, b, now)
    finally:
        db.dispose()


def test_production_process_set_survives_restarts_and_a_database_outage(smoke_database, capsys):
    figures: dict[str, object] = {}
    t0 = time.monotonic()
    logs = OUTPUT_DIR / "smoke"
    logs.mkdir(parents=True, exist_ok=True)
    for old in logs.glob("*.log"):
        old.unlink()
    shutil.rmtree(logs / "metrics", ignore_errors=True)  # like /run at boot: no counts from before
    pg = urlsplit(smoke_database)
    proxy = TcpProxy(pg.hostname, pg.port or 5432)
    app_db_url = with_database(smoke_database, pg.path.lstrip("/"), "127.0.0.1", proxy.port)
    fake = start_fake_twilio()
    rasa_port, port = free_port(), free_port()
    model = train()
    rasa = RasaServer(port=rasa_port, model=model, log_path=logs / "rasa-1.log", auth_token=NLU_TOKEN)
    rasa.start()  # loading takes most of a minute: everything else is set up meanwhile
    env = production_env(app_db_url, port, rasa.url, fake.base_url, logs / "metrics")
    base = f"http://127.0.0.1:{port}"
    services = {
        "scheduler": Service("scheduler", [*FLASK, "scheduler"], env, logs),
        "sender-1": Service("sender-1", [*FLASK, "sender"], env, logs),
        "sender-2": Service("sender-2", [*FLASK, "sender"], env, logs),
        "web": Service("web", [str(ROOT / ".venv/bin/gunicorn"), "-c", "deploy/gunicorn.conf.py",
                               "server:app"], env, logs),
    }
    poller = MetricsPoller(base, METRICS_TOKEN)
    traffic = InboundTraffic(base, PHONES, TEXTS, PER_CONTACT)
    rasa_restart: dict[str, float] = {}
    try:
        migrated = Service("migrate", [*FLASK, "migrate"], env, logs)
        migrated.start()
        assert migrated.wait(120) == 0, (logs / "migrate.log").read_text()
        audience = add_audience(smoke_database)
        for service in services.values():
            service.supervise()
        http = session()
        wait_until(lambda: http.get(base + "/livez", timeout=2).ok, 60, "gunicorn")
        poller.start()
        figures["rasa_start_s"] = round(rasa.wait_ready(), 1)
        wait_until(lambda: http.get(base + "/healthz", timeout=5).json()["nlu"], 30, "nlu in /healthz")
        figures["ready_s"] = round(time.monotonic() - t0, 1)
        queue_broadcast(smoke_database)  # the scheduler builds it within a minute, during the traffic
        started = time.monotonic()
        traffic.start()

        def restart_rasa() -> None:
            nonlocal rasa
            began = time.monotonic()
            rasa.stop()  # SIGTERM to its process group (SIGKILL only after 15 s)
            rasa_restart["exit"] = rasa.process.returncode
            rasa = RasaServer(port=rasa_port, model=model, log_path=logs / "rasa-2.log",
                              auth_token=NLU_TOKEN)
            rasa.start()
            rasa.wait_ready()
            rasa_restart["seconds"] = round(time.monotonic() - began, 1)

        def step(condition, timeout: float = 90.0) -> None:
            deadline = time.monotonic() + timeout
            while not condition() and time.monotonic() < deadline:
                time.sleep(0.1)

        step(lambda: traffic.answered >= 20)  # early: reloading the model takes the longest
        rasa_thread = threading.Thread(target=restart_rasa, daemon=True)
        rasa_thread.start()
        step(lambda: traffic.answered >= 120)
        services["web"].restart()
        wait_until(lambda: http.get(base + "/livez", timeout=2).ok, 60, "gunicorn after its restart")
        step(lambda: len(fake.messages) >= 400)
        services["sender-1"].restart()
        step(lambda: len(fake.messages) >= 1000)
        services["sender-2"].restart()
        step(lambda: traffic.answered >= 300)
        services["scheduler"].restart()
        time.sleep(3.0)  # up again before the database goes away (a start-up check needs it)
        step(lambda: traffic.answered >= 380)
        # The database goes away for a moment: inbound traffic waits (Twilio would get errors).
        traffic.pause()
        cut_at = time.monotonic()
        proxy.cut()
        def healthz(status: int) -> list:
            response = http.get(base + "/healthz", timeout=10)
            return [response] if response.status_code == status else []  # a 503 response is falsy

        [down] = wait_until(lambda: healthz(503), 20, "/healthz 503")
        assert down.json()["db"] is False
        figures["healthz_503_after_cut_s"] = round(time.monotonic() - cut_at, 2)
        time.sleep(2.0)
        proxy.restore()
        restored_at = time.monotonic()
        wait_until(lambda: healthz(200), 30, "/healthz 200 after the database is back")
        figures["healthz_200_after_restore_s"] = round(time.monotonic() - restored_at, 2)
        traffic.flowing.set()

        assert traffic.join(240), "inbound traffic did not finish"
        figures["inbound_s"] = round(time.monotonic() - started, 1)
        rasa_thread.join(240)
        assert rasa_restart, "the Rasa server did not come back after its SIGTERM"

        def backlog_gone():
            found = poller.scrape()
            pending = sum(total(found, "chaski_outbox_messages", status=s) for s in ("queued", "sending"))
            return found if pending == 0 and len(fake.messages) >= AUDIENCE else None

        final = wait_until(backlog_gone, 180, "the outbox backlog to reach zero", interval=1.0)
        figures["broadcast_done_s"] = round(time.monotonic() - started, 1)
        health = http.get(base + "/healthz", timeout=10).json()
        poller.stop()
        idle = []  # what a scrape costs once the work is done
        for _ in range(5):
            began = time.monotonic()
            poller.scrape(http)
            idle.append(time.monotonic() - began)

        # ---- every inbound answered exactly once ----
        assert not traffic.failures, f"{len(traffic.failures)} inbound never answered"
        assert traffic.answered == CONTACTS * PER_CONTACT
        db = Database(smoke_database)
        try:
            with db.session() as s:
                inbound = dict(s.execute(select(Message.twilio_sid, func.count())
                                         .where(Message.direction == "in")
                                         .group_by(Message.twilio_sid)).all())
                reply = aliased(Message)
                replies = dict(s.execute(
                    select(Message.twilio_sid, func.count(reply.id))
                    .join(reply, reply.reply_to_id == Message.id)
                    .where(Message.direction == "in").group_by(Message.twilio_sid)).all())
                outbox = Counter(dict(s.execute(select(OutboxMessage.status, func.count())
                                                .group_by(OutboxMessage.status)).all()))
        finally:
            db.dispose()
        assert inbound == {sid: 1 for sid in traffic.replies}, "an inbound stored twice or missing"
        assert all(traffic.replies[sid] for sid in traffic.replies), "an inbound answered with nothing"
        assert replies == {sid: len(m) for sid, m in traffic.replies.items()}, \
            "stored replies differ from what Twilio was answered"
        # ---- every broadcast contact got exactly one message, nobody else got any ----
        fake.wait_idle(5)
        sent_to = Counter(m["to"] for m in fake.messages)
        posts = Counter(r["form"].get("To") for r in fake.requests
                        if r["method"] == "POST" and r["path"].endswith("/Messages.json"))
        assert sent_to == Counter(audience) and posts == sent_to, (
            f"duplicates: {[p for p, n in sent_to.items() if n > 1][:5]}, "
            f"missing: {len(set(audience) - set(sent_to))}")
        assert outbox == Counter({"sent": AUDIENCE})
        # ---- what /metrics saw ----
        highest = max(b for _, b, _ in poller.backlog)
        assert highest > 0 and poller.backlog[-1][1] == 0, poller.backlog[-5:]
        assert total(final, "chaski_replies_total") == CONTACTS * PER_CONTACT
        assert total(final, "chaski_webhook_request_seconds_count", path="/webhooks/twilio") \
            >= CONTACTS * PER_CONTACT
        assert total(final, "chaski_twilio_sends_total", outcome="sent") == AUDIENCE
        assert total(final, "chaski_rate_limit_wait_seconds_count") > 0
        assert total(final, "chaski_nlu_request_seconds_count") > 0
        assert total(final, "chaski_job_last_success_timestamp_seconds", job="send_due_broadcasts") > 0
        for process in ("sender", "scheduler"):
            assert total(final, "chaski_heartbeat_age_seconds", process=process) < 90
        assert health["db"] and health["nlu"], health
        # ---- each process stopped on its SIGTERM ----
        stops = {name: service.stops for name, service in services.items()}
        for name, [(code, _seconds)] in stops.items():
            assert code in (0, -15), f"{name} exited with {code} on SIGTERM"
    finally:
        poller.stop()
        traffic.flowing.set()
        for service in services.values():
            service.kill()
        rasa.stop()
        fake.stop()
        proxy.close()

    cost = sorted(seconds for seconds, _, _ in poller.scrapes)
    latency = sorted(traffic.latencies)
    figures.update({
        "inbound": traffic.answered, "retries": traffic.retries,
        "inbound_p50_ms": round(statistics.median(latency) * 1000),
        "inbound_p95_ms": round(latency[int(len(latency) * 0.95)] * 1000),
        "broadcast_sent": len(fake.messages), "backlog_peak": int(highest),
        "rasa_restart_s": rasa_restart["seconds"], "rasa_exit": rasa_restart["exit"],
        "sigterm_exits": stops,
        "unplanned_exits": {n: s.failures for n, s in services.items() if s.failures},
        "nlu_errors": {dict(k[1]).get("kind"): v for k, v in final.items()
                       if k[0] == "chaski_nlu_errors_total"},
        "scrapes": len(cost), "scrape_p50_ms": round(statistics.median(cost) * 1000, 1),
        "scrape_max_ms": round(cost[-1] * 1000, 1),
        "scrape_db_ms": round(statistics.median(d for _, _, d in poller.scrapes) * 1000, 1),
        "scrape_idle_ms": round(statistics.median(idle) * 1000, 1),
        "scrape_bytes": poller.scrapes[-1][1],
        "metrics_files": len(list((logs / "metrics").glob("*.db"))),
        "wall_s": round(time.monotonic() - t0, 1),
    })
    (logs / "figures.txt").write_text("\n".join(f"{k}: {v}" for k, v in figures.items()) + "\n")
    with capsys.disabled():
        print("\nsmoke test figures:", ", ".join(f"{k}={v}" for k, v in figures.items()))

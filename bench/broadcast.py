"""Measure a broadcast end to end: audience, outbox building, and the sender's throughput.

Creates N FAKE contacts (+51 910 000 000 upward, profile {"fake": true}), builds a
broadcast's outbox rows in one transaction (timed), then sends M of them with
the real sender against the local fake Twilio API, next to a plain loop of
`twilio` client calls to the same fake in the same run (the ratio is what
matters: our software must not be the bottleneck). The fake runs in a process of
its own under gunicorn, which keeps connections alive as Twilio does, since
Twilio is on another machine (--fake-in-process serves it from this process
with werkzeug: its threads then share the sender's interpreter lock, and every
call opens a new connection).

Usage:
  .venv/bin/python bench/broadcast.py                 # 100,000 contacts, 5,000 sends, temp SQLite
  .venv/bin/python bench/broadcast.py --quick         # 10,000 contacts, 1,000 sends (about a minute)
  .venv/bin/python bench/broadcast.py --database-url postgresql://postgres@127.0.0.1:5432/bench
The database given is EMPTIED first (all Chaski tables dropped and migrated again).
"""
from __future__ import annotations

import argparse
import contextlib
import logging
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, insert, select, update  # noqa: E402

from bot import create_app  # noqa: E402
from bot.proactive import broadcasts  # noqa: E402
from bot.db import reset_schema  # noqa: E402
from bot.services import services  # noqa: E402
from bot.outbound.sender import run_workers  # noqa: E402
from bot.channels.twilio import send_message  # noqa: E402
from models import Broadcast, Contact, OutboxMessage, utcnow  # noqa: E402
from tests.fakes.twilio_api import FAKE_ACCOUNT_SID, FAKE_AUTH_TOKEN, start_fake_twilio  # noqa: E402
from tests.fakes.twilio_process import Remote  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402
from harness import record  # noqa: E402

FIRST_FAKE = 910_000_000  # +51 910 000 000 upward: this project's FAKE bench range
BUILD_GOAL, LATENCY_GOAL = 50_000, 100  # rows/s at 100,000 contacts; msg/s at 150 ms a call
TEXT = {"es": "Alerta roja de helada en Junín esta noche: cubra sus cultivos y abrigue a sus animales.",
        "qu": "Paqarin chiri kanqa: chakraykita qataykuy."}


def timed(label: str, fn):
    start = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - start
    print(f"{label:<44}{seconds:>9.2f} s", flush=True)
    return result, seconds


def make_contacts(db, n: int) -> None:
    now = utcnow()
    rows = [{"phone": f"+51{FIRST_FAKE + i}", "channels": ["sms"], "language": "qu" if i % 5 == 0 else "es",
             "region": ("junin", "puno", "cusco", "piura")[i % 4], "consent_at": now,
             "profile": {"fake": True}, "last_inbound_at": now, "created_at": now}
            for i in range(n)]
    with db.session() as s:
        for start in range(0, n, 10_000):
            s.execute(insert(Contact), rows[start:start + 10_000])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--sends", type=int, default=5_000, help="messages actually sent (both ways)")
    parser.add_argument("--workers", type=int,
                        help="sender threads in the second run (default: OUTBOX_WORKERS, as `flask sender`)")
    parser.add_argument("--quick", action="store_true", help="10,000 contacts and 1,000 sends")
    parser.add_argument("--database-url", help="database to EMPTY and use (default: a temp SQLite file)")
    parser.add_argument("--latency", type=float, default=0.0,
                        help="seconds the fake Twilio API takes to answer each call (e.g. 0.15)")
    parser.add_argument("--fake-in-process", action="store_true",
                        help="run the fake Twilio API in this process (its threads then share our GIL)")
    parser.add_argument("--concurrency", type=int, help="OUTBOX_CONCURRENCY (default: the setting's)")
    parser.add_argument("--results", help="append the figures as JSON lines to this file (bench/all.py)")
    args = parser.parse_args()
    if args.quick:
        args.contacts, args.sends = 10_000, 1_000
    logging.basicConfig(level=logging.WARNING)
    with contextlib.ExitStack() as stack:
        if args.fake_in_process:
            fake = InProcessFake(args.latency)
            stack.callback(fake.stop)
        else:
            fake = Remote(stack.enter_context(harness.gunicorn(
                "tests.fakes.twilio_process:app()", {"FAKE_TWILIO_LATENCY": str(args.latency)},
                workers=1, worker_class="gthread", threads=128)))
        run(args, fake)


def run(args, fake) -> None:
    """Build the outbox and send from it against `fake`; print and record the figures."""
    url = args.database_url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.sqlite'}"
    app = create_app({"DATABASE_URL": url, "TWILIO_ACCOUNT_SID": FAKE_ACCOUNT_SID,
                      "TWILIO_AUTH_TOKEN": FAKE_AUTH_TOKEN, "TWILIO_API_BASE_URL": fake.base_url,
                      "TWILIO_SMS_FROM": "+51900000000", "OUTBOX_RATE_SMS": 0, "SECRET_KEY": "bench",
                      **({"OUTBOX_CONCURRENCY": args.concurrency} if args.concurrency else {})})
    for name in ("werkzeug", "twilio", "bot", "alembic"):
        logging.getLogger(name).setLevel(logging.ERROR)
    svc = services(app)
    db = svc.db
    args.workers = args.workers or svc.settings.outbox_workers
    print(f"database: {db.engine.dialect.name}; contacts: {args.contacts:,}; sends: {args.sends:,}; "
          f"fake Twilio latency {args.latency * 1000:.0f} ms "
          f"({'in this process' if args.fake_in_process else 'its own gunicorn process'}); "
          f"{svc.settings.outbox_concurrency} calls in flight per worker")
    reset_schema(url)
    timed(f"create {args.contacts:,} FAKE contacts", lambda: make_contacts(db, args.contacts))

    now = utcnow()
    with db.session() as s:
        b = broadcasts.create(s, name="bench", texts=TEXT, urgent=True, now=now)
        b_id = b.id
    with db.session() as s:
        p, _ = timed("preview (audience, segments, cost)",
                     lambda: broadcasts.preview(s, s.get(Broadcast, b_id), now, svc.settings))
    print(f"  recipients {p['recipients']:,}, SMS segments {p['sms_segments']:,}, "
          f"estimated cost {p['estimated_cost']:,.2f} USD")

    def build():
        with db.session() as s:
            b = broadcasts.schedule(s, s.get(Broadcast, b_id), now)
            return broadcasts.run(s, b, now)

    counts, build_s = timed("build the outbox (one transaction)", build)
    print(f"  {counts['queued']:,} rows, {counts['queued'] / build_s:,.0f} rows/s")
    again, _ = timed("build again (idempotent: adds nothing)", lambda: _rerun(db, b_id, now))
    print(f"  added {again['queued']}")

    def make_due(start: int) -> None:
        """Make rows [start, start + sends) due; every other row waits a year."""
        with db.session() as s:
            ids = s.scalars(select(OutboxMessage.id).order_by(OutboxMessage.id)).all()
            due = ids[start:start + args.sends]
            s.execute(update(OutboxMessage).values(next_attempt_at=now + timedelta(days=365)))
            s.execute(update(OutboxMessage).where(OutboxMessage.id.between(due[0], due[-1]))
                      .values(next_attempt_at=now))

    client = svc.twilio
    plain_n = min(args.sends, 50) if args.latency else args.sends  # one call at a time: keep it short
    _, plain_s = timed(f"plain loop: {plain_n:,} twilio client calls", lambda: [
        send_message(client, to=f"+51{FIRST_FAKE + i}", body=TEXT["es"], from_="+51900000000")
        for i in range(plain_n)])
    rates = {}
    for i, workers in enumerate(dict.fromkeys((1, args.workers))):
        make_due(i * args.sends)
        fake.reset()
        result, seconds = timed(f"sender, {workers} worker(s): {args.sends:,} rows",
                                lambda n=workers: run_workers(svc, n, once=True))
        assert result.get("sent") == args.sends and fake.count() == args.sends, result
        rates[workers] = args.sends / seconds
    with db.session() as s:
        total = s.scalar(select(func.count()).select_from(OutboxMessage))
    plain_rate = plain_n / plain_s
    print(f"\n{'figure':<44}{'value':>12}")
    print(f"{'outbox rows built per second':<44}{counts['queued'] / build_s:>12,.0f}")
    print(f"{'plain twilio client loop, messages/s':<44}{plain_rate:>12,.0f}")
    for workers, rate in rates.items():
        print(f"{f'sender, {workers} worker(s), messages/s':<44}{rate:>12,.0f}")
        print(f"{'  / plain loop':<44}{rate / plain_rate:>12.2f}")
    print(f"{'outbox rows in the database':<44}{total:>12,}")
    print("Twilio's own ceilings: 1 segment/s per long code, 30/s short code, ~80/s WhatsApp.")
    dbname = "PostgreSQL" if db.engine.dialect.name == "postgresql" else "SQLite"
    if args.latency == 0:
        record(args.results, f"outbox build, {args.contacts:,} contacts, {dbname}",
               counts["queued"] / build_s, "rows/s", goal=f">= {BUILD_GOAL:,}",
               met=counts["queued"] / build_s >= BUILD_GOAL if args.contacts >= 100_000 else None)
        record(args.results, f"plain twilio client loop, {dbname}", plain_rate, "msg/s", goal="(baseline)")
    # The goals are one sender process's (`flask sender`: OUTBOX_WORKERS threads); one thread
    # alone is shown beside it.
    ms = f"{args.latency * 1000:.0f} ms"
    for workers, rate in rates.items():
        whole = workers == max(rates)
        name = f"sender process, {workers} workers" if whole and workers > 1 else f"sender, {workers} worker"
        if args.latency == 0:
            record(args.results, f"{name}, 0 ms, {dbname}", rate, "msg/s", baseline="plain loop",
                   ratio=rate / plain_rate, goal=">= 1.0 of plain loop" if whole else "(one thread)",
                   met=rate / plain_rate >= 1.0 if whole else None)
        else:
            record(args.results, f"{name}, {ms} latency, {dbname}", rate, "msg/s", baseline="plain loop",
                   ratio=rate / plain_rate, goal=f">= {LATENCY_GOAL} msg/s" if whole else "(one thread)",
                   met=rate >= LATENCY_GOAL if whole else None)
    db.dispose()


class InProcessFake:
    """The fake Twilio API in this process, with FakeTwilioProcess's interface."""

    def __init__(self, latency: float):
        self._fake = start_fake_twilio(latency=latency)
        self.base_url, self.reset, self.stop = self._fake.base_url, self._fake.reset, self._fake.stop

    def count(self) -> int:
        return len(self._fake.messages)


def _rerun(db, b_id, now):
    with db.session() as s:
        b = s.get(Broadcast, b_id)
        b.status, b.next_run_at = "scheduled", now
        result = broadcasts.run(s, b, now)
        return result


if __name__ == "__main__":
    main()

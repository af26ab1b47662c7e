"""Measure the pushes of a red climate alert: importing it with N people in the region.

Creates N FAKE contacts in Puno (+51 910 000 000 upward, profile {"fake": true}),
imports tests/data/cap_heladas_update.xml (a red frost warning for Puno, with a
fixed clock inside its validity) and times it against the same import with no
contacts in the same run: the ratio is the cost of the pushes (one outbox row per
person, written in the import's transaction).

Usage:
  .venv/bin/python bench/alert_pushes.py                 # 20,000 contacts, temp SQLite
  .venv/bin/python bench/alert_pushes.py --contacts 2000
  .venv/bin/python bench/alert_pushes.py --database-url postgresql://postgres@127.0.0.1:5432/bench
The database given is EMPTIED first (all Chaski tables dropped and migrated again).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import delete, func, insert, select  # noqa: E402

from bot.db import Database, reset_schema  # noqa: E402
from bot.knowledge.alerts import import_alerts  # noqa: E402
from bot.proactive import broadcasts  # noqa: E402
from models import Alert, Broadcast, Contact, OutboxMessage  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import record  # noqa: E402

GOAL_SECONDS = 5.0

FIRST_FAKE = 910_000_000  # +51 910 000 000 upward: this project's FAKE bench range
RED_ALERT = Path(__file__).resolve().parent.parent / "tests" / "data" / "cap_heladas_update.xml"
NOW = datetime(2026, 11, 22, 15, 0, tzinfo=timezone.utc)  # inside the warning's validity


def import_once(db: Database) -> tuple[float, int]:
    """Import the red alert (after removing it) and return (seconds, pushes queued)."""
    with db.session() as s:
        s.execute(delete(OutboxMessage))
        s.execute(delete(Alert))
    start = time.perf_counter()
    with db.session() as s:
        pushes = import_alerts(s, RED_ALERT, NOW).pushes
    return time.perf_counter() - start, pushes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=20_000)
    parser.add_argument("--database-url")
    parser.add_argument("--results", help="append the figures as JSON lines to this file (bench/all.py)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench.sqlite"
        reset_schema(url)
        db = Database(url)
        baseline, _ = import_once(db)
        baseline = min(baseline, import_once(db)[0])
        rows = [{"phone": f"+51{FIRST_FAKE + i}", "channels": ["sms"], "language": "es",
                 "region": "puno", "consent_at": NOW, "profile": {"fake": True}, "created_at": NOW}
                for i in range(args.contacts)]
        with db.session() as s:
            for start in range(0, len(rows), 10_000):
                s.execute(insert(Contact), rows[start:start + 10_000])
        seconds, pushes = import_once(db)
        with db.session() as s:
            stored = s.scalar(select(func.count()).select_from(OutboxMessage))
        broadcast_s = broadcast_once(db)
        db.dispose()
    print(f"database: {url.split(':')[0]}; contacts in the region: {args.contacts}")
    print(f"import without anyone to tell (baseline): {baseline:.3f} s")
    print(f"import with {pushes} pushes queued ({stored} rows): {seconds:.3f} s "
          f"= {seconds / baseline:.0f}x the baseline, {seconds / max(pushes, 1) * 1e6:.0f} µs a person")
    print(f"a broadcast to the same people: {broadcast_s:.3f} s")
    name = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    record(args.results, f"red alert to {args.contacts:,} in one region, queued, {name}", seconds, "s",
           baseline="broadcast", ratio=seconds / broadcast_s, goal=f"<= {GOAL_SECONDS:g} s",
           met=seconds <= GOAL_SECONDS and pushes == args.contacts)


def broadcast_once(db: Database) -> float:
    """Time building an urgent broadcast's rows to everyone in Puno (the same people)."""
    with db.session() as s:
        s.execute(delete(OutboxMessage))
        b = broadcasts.create(s, name="bench", texts={"es": "Alerta roja de helada en Puno."},
                              segment={"region": "puno"}, urgent=True, now=NOW)
        broadcasts.schedule(s, b, NOW)
    start = time.perf_counter()
    with db.session() as s:
        broadcasts.run(s, s.get(Broadcast, b.id), NOW)
    return time.perf_counter() - start


if __name__ == "__main__":
    main()

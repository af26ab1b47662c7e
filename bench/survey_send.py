"""Measure `survey send` to N contacts against building a broadcast to the same N, same run.

Creates N FAKE contacts (+51 910 000 000 upward, profile {"fake": true}), loads
the sample survey, and times (1) a broadcast's outbox rows (INSERT ... SELECT,
the baseline) and (2) the survey's participants plus first questions, then a
second `survey send` to the same segment (which must add nothing).

Usage:
  .venv/bin/python bench/survey_send.py [--contacts 20000] [--database-url postgresql://...]
The database given is EMPTIED first (all Chaski tables dropped and migrated again).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.proactive import broadcasts
from bot.surveys import service as surveys  # noqa: E402
from bot.db import Database, reset_schema  # noqa: E402
from bench.broadcast import TEXT, make_contacts  # noqa: E402
from models import utcnow  # noqa: E402

SAMPLE = surveys.SURVEYS_DIR / "cosecha-2026.yml"


def timed(fn) -> tuple[object, float]:
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=20_000)
    parser.add_argument("--database-url", help="default: a temporary SQLite file (EMPTIED first)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench.sqlite"
        reset_schema(url)
        db = Database(url)
        make_contacts(db, args.contacts)
        now = utcnow()

        def broadcast():
            with db.session() as s:
                b = broadcasts.create(s, name="bench", texts=TEXT, now=now)
                return broadcasts.run(s, broadcasts.schedule(s, b, now), now)["queued"]

        def survey():
            with db.session() as s:
                return surveys.send(s, surveys.load(s, SAMPLE, now)[0], {}, now)["invited"]

        def again():
            with db.session() as s:
                return surveys.send(s, surveys.get(s, "cosecha-2026"), {}, now)["invited"]

        queued, base = timed(broadcast)
        invited, took = timed(survey)
        added, second = timed(again)
        db.dispose()
    assert queued == invited == args.contacts and added == 0
    print(f"{db.engine.dialect.name}, {args.contacts} contacts")
    print(f"broadcast outbox rows (baseline)   {base:7.2f} s")
    print(f"survey send (participants + rows)  {took:7.2f} s  ratio {took / base:5.1f}x")
    print(f"survey send again (adds nothing)   {second:7.2f} s  ratio {second / base:5.1f}x")


if __name__ == "__main__":
    main()

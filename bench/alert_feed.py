"""Measure the time from a CAP feed publishing a red alert to every outbox row queued.

Starts the loopback feed server (tests/fakes/feed_server.py), stores an auto feed
(an Atom index), creates N FAKE contacts in Puno (+51 910 000 000 upward, profile
{"fake": true}), polls once with nothing published (the index is empty), then
publishes a red frost warning for Puno (tests/data/feeds/frost_red.xml, linked
from the index) and times one poll as the scheduler's job runs it: fetch the
index, fetch the linked CAP file, parse, import, queue one row per person, commit.
The figure does not include the wait for the next scheduled poll (at most
ALERT_POLL_MINUTES, default 5 min).

Usage:
  .venv/bin/python bench/alert_feed.py                  # 100,000 contacts, temp SQLite
  .venv/bin/python bench/alert_feed.py --contacts 10000
  .venv/bin/python bench/alert_feed.py --database-url postgresql://postgres@127.0.0.1:5432/bench
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

from sqlalchemy import func, insert, select  # noqa: E402

from bot import clock  # noqa: E402
from bot.db import Database, reset_schema  # noqa: E402
from bot.knowledge.feeds import add_feed, poll_all  # noqa: E402
from models import Contact, OutboxMessage  # noqa: E402
from tests.fakes.feed_server import FeedServer, atom  # noqa: E402

FIRST_FAKE = 910_000_000  # +51 910 000 000 upward: this project's FAKE bench range
NOW = datetime(2026, 11, 22, 15, 0, tzinfo=timezone.utc)  # inside the warning's validity


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    clock.set_now(NOW)
    server = FeedServer().start()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench.sqlite"
        reset_schema(url)
        db = Database(url)
        rows = [{"phone": f"+51{FIRST_FAKE + i}", "channels": ["sms"], "language": "es",
                 "region": "puno", "consent_at": NOW, "profile": {"fake": True}, "created_at": NOW}
                for i in range(args.contacts)]
        with db.session() as s:
            for start in range(0, len(rows), 10_000):
                s.execute(insert(Contact), rows[start:start + 10_000])
            add_feed(s, server.serve("/index.atom", body=atom([]), etag='"empty"'), "bench", "auto")
        with db.session() as s:
            empty = poll_all(s, NOW, force=True)
        server.serve_file("/cap/red.xml", "frost_red.xml")
        server.serve("/index.atom", body=atom([("urn:bench:red", "2026-11-22T14:00:00Z", "/cap/red.xml")]),
                     etag='"red"')
        published = time.perf_counter()
        with db.session() as s:
            [result] = poll_all(s, NOW, force=True)
        seconds = time.perf_counter() - published
        with db.session() as s:
            stored = s.scalar(select(func.count()).select_from(OutboxMessage))
        db.dispose()
    server.stop()
    clock.reset()
    print(f"database: {url.split(':')[0]}; contacts in Puno: {args.contacts}")
    print(f"poll with nothing new: {empty[0].outcome}")
    print(f"published -> all rows queued: {seconds:.2f} s for {result.counts.pushes} pushes "
          f"({stored} rows), {seconds / max(result.counts.pushes, 1) * 1e6:.0f} µs a person; "
          f"add up to ALERT_POLL_MINUTES for the wait until the next scheduled poll")


if __name__ == "__main__":
    main()

"""Measure POST /webhooks/twilio throughput under gunicorn, against two baselines in the same run.

Three apps, each under gunicorn with 2 sync workers, driven by wrk (16 connections)
with pre-signed requests, every one a distinct MessageSid, from 2,000 FAKE contacts
(+51 910 000 000 upward, consented, region Junín) sending a menu digit:

  bare    Flask answering fixed TwiML (what Flask + gunicorn cost)
  floor   the durable floor: validate the signature, INSERT the inbound row ON CONFLICT
          on MessageSid, commit, fixed TwiML (bench/wsgi_apps.py)
  chaski  the real app (server:app): contact, dedupe, state, inbound and reply rows

on SQLite (a temp file) and, with --database-url, PostgreSQL. Goal: Chaski >= 0.5 of
the floor on the same database.

Usage:
  .venv/bin/python bench/webhook_throughput.py [--seconds 10] [--database-url URL] [--quick]
The PostgreSQL database given is EMPTIED first (all Chaski tables dropped and migrated).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy import func, insert, select  # noqa: E402

import harness  # noqa: E402
from bot.db import Database, make_engine, reset_schema  # noqa: E402
from models import Contact, Message, utcnow  # noqa: E402
from tests.fakes.signing import inbound_form, signature  # noqa: E402
from wsgi_apps import create_floor_table, drop_floor_table  # noqa: E402

TOKEN = "bench-token"
CONTACTS = 2_000
GOAL = 0.5


def seed(url: str) -> None:
    """Empty the database, migrate it and add the FAKE contacts."""
    reset_schema(url)
    db = Database(url)
    now = utcnow() - timedelta(days=1)
    with db.session() as s:
        s.execute(insert(Contact), [
            {"phone": harness.fake_phone(i), "channels": ["sms"], "language": "es", "region": "junin",
             "consent_at": now, "profile": {"fake": True}, "last_inbound_at": now, "created_at": now}
            for i in range(CONTACTS)])
    engine = make_engine(url)
    create_floor_table(engine)
    engine.dispose()
    db.dispose()


def requests_file(base: str, tag: str, n: int, directory: Path) -> Path:
    """Write `n` signed inbound requests with distinct MessageSids, round-robin over the contacts."""
    url = base + "/webhooks/twilio"
    rows = []
    for i in range(n):
        form = inbound_form("1", sid=f"SM{tag}{i:0{32 - len(tag)}d}", phone=harness.fake_phone(i % CONTACTS))
        rows.append((signature(url, form, TOKEN), urlencode(form)))
    return harness.write_requests(directory / f"{tag}.txt", rows)


def drive(base: str, tag: str, seconds: float, per_second: int, directory: Path) -> dict:
    """Warm up for two seconds, then measure for `seconds` with fresh requests."""
    harness.wrk(base + "/webhooks/twilio", requests_file(base, f"w{tag}", 3 * per_second, directory), 2)
    found = harness.wrk(base + "/webhooks/twilio",
                        requests_file(base, tag, int(seconds * per_second), directory), seconds)
    problems = []
    if found["non2xx"] or found["socket_errors"]:
        problems.append(f"{found['non2xx']} non-2xx answers, {found['socket_errors']} socket errors")
    if found["wrapped"] and tag != "b":
        problems.append(f"{found['wrapped']} requests file wrap-arounds (repeated MessageSids)")
    print(f"  {tag:<3} {found['rps']:>9,.0f} req/s  p50 {found['p50']:.1f} ms  p99 {found['p99']:.1f} ms"
          + (f"  !! {'; '.join(problems)}" if problems else ""), flush=True)
    found["problems"] = problems
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per case")
    parser.add_argument("--quick", action="store_true", help="4 s per case")
    parser.add_argument("--database-url", help="PostgreSQL database to EMPTY and use too")
    parser.add_argument("--results", help="append the figures as JSON lines to this file (bench/all.py)")
    args = parser.parse_args()
    seconds = 4.0 if args.quick else args.seconds
    work = Path(tempfile.mkdtemp(prefix="bench-throughput-"))
    databases = [("SQLite", f"sqlite:///{work / 'bench.sqlite'}")]
    pg = harness.postgres_or_none(args.database_url)
    if pg:
        databases.append(("PostgreSQL", pg))
    logs = work / "gunicorn.log"
    print(f"gunicorn 2 sync workers, wrk 16 connections, {seconds:g} s a case; logs in {logs}")
    with harness.gunicorn("wsgi_apps:bare()", {}, log=logs) as base:
        bare = drive(base, "b", seconds, 3000, work)
    harness.record(args.results, "webhook: bare Flask TwiML", bare["rps"], "req/s",
                   goal="(baseline)")
    for name, url in databases:
        print(f"{name}:")
        seed(url)
        env = {"BENCH_DATABASE_URL": url, "BENCH_AUTH_TOKEN": TOKEN}
        with harness.gunicorn("wsgi_apps:floor()", env, log=logs) as base:
            floor = drive(base, f"f{name[0]}", seconds, 2500, work)
        chaski_env = {"DATABASE_URL": url, "TWILIO_AUTH_TOKEN": TOKEN, "SECRET_KEY": "bench",
                      "NLU_URL": "http://127.0.0.1:9", "TWILIO_VALIDATE": "1", "PUBLIC_URL": "",
                      "CHASKI_ENV": "development"}
        with harness.gunicorn("server:app", chaski_env, log=logs) as base:
            chaski = drive(base, f"c{name[0]}", seconds, 2000, work)
        db = Database(url)
        with db.session() as s:
            stored = s.scalar(select(func.count()).select_from(Message).where(Message.direction == "in"))
        drop_floor_table(db.engine)  # leave no table the models do not know (tests/test_migrations.py)
        db.dispose()
        answered = chaski["requests"]
        print(f"  chaski stored {stored:,} inbound rows for {answered:,} answers (warm-up included)")
        ratio = chaski["rps"] / floor["rps"]
        harness.record(args.results, f"webhook: durable floor, {name}", floor["rps"], "req/s",
                       goal="(baseline)")
        ok = ratio >= GOAL and not chaski["problems"]
        harness.record(args.results, f"webhook: Chaski menu digit, {name}", chaski["rps"], "req/s",
                       baseline="floor", ratio=ratio, goal=f">= {GOAL} of floor", met=ok)


if __name__ == "__main__":
    main()

"""The outbox's commands: `outbox status` and `sender` (the process that sends the outbox)."""
from __future__ import annotations

import json
import logging
import os
import signal
import sys
import time

import click
from flask.cli import AppGroup

from bot.cli import needs_schema
from bot.outbound.outbox import counts, due_count
from bot.outbound.sender import run_workers
from bot.services import services
from models import utcnow

cli = AppGroup("outbound", help="Outbox commands.")


@cli.group("outbox")
def outbox_group() -> None:
    """Look at the outbox of proactive messages."""


@outbox_group.command("status")
@click.option("--broadcast", "broadcast_id", type=int, help="Only the rows of this broadcast.")
@needs_schema
def outbox_status(broadcast_id: int | None) -> None:
    """Show how many outbox messages are in each status."""
    with services().db.session() as s:
        found = counts(s, broadcast_id)
    width = max(len(k) for k in found)
    for status, n in found.items():
        click.echo(f"{status:<{width}}  {n}")
    click.echo(f"{'total':<{width}}  {sum(found.values())}")


@cli.command("sender")
@click.option("--once", is_flag=True, help="Send everything due now, then exit (else run forever).")
@click.option("--batch", type=int, help="Rows claimed at a time (default OUTBOX_BATCH, 50).")
@click.option("--workers", type=click.IntRange(1, 32),
              help="Threads sending in parallel, sharing the rate limit (default OUTBOX_WORKERS, 4).")
@needs_schema
def sender_command(once: bool, batch: int | None, workers: int | None) -> None:
    """Run the outbox sender: claim due messages and send them through Twilio."""
    svc = services()
    if svc.twilio is None and once:
        raise click.ClickException("TWILIO_ACCOUNT_SID/TWILIO_AUTH_TOKEN are not set: cannot send")
    workers = workers or svc.settings.outbox_workers
    if once:
        with svc.db.session() as s:
            due = due_count(s, utcnow())
        logging.getLogger("bot.channels.twilio").setLevel(logging.ERROR)
        with click.progressbar(length=due, label="sending", file=sys.stderr) as bar:
            totals = run_workers(svc, workers, once=True, progress=bar.update, batch=batch)
        click.echo(json.dumps(totals, sort_keys=True))
        return
    stopping = []
    for signum in (signal.SIGTERM, signal.SIGINT):  # finish the batch in hand, then stop
        signal.signal(signum, lambda *_: stopping.append(True))
    click.echo(f"sender (pid {os.getpid()}) running with {workers} worker(s) (Ctrl-C stops)",
               err=True)
    try:
        if svc.twilio is None:  # stay up under `make run` (honcho stops all if one exits)
            click.echo("outbound disabled without Twilio credentials: the sender waits", err=True)
            while not stopping:
                time.sleep(1.0)
        else:
            run_workers(svc, workers, once=False, stop=lambda: bool(stopping), batch=batch)
    except KeyboardInterrupt:
        pass
    click.echo("sender stopped", err=True)

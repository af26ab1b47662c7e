"""CLI for proactive messages: `outbox status`, `sender`, `broadcast create|preview|send|cancel`."""
from __future__ import annotations

import json
import logging
import os
import signal
import sys
import time
from datetime import datetime

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from bot.cli_common import audience_options, pairs, require_migrated
from bot.services import services
from models import Broadcast, OutboxMessage, utcnow


def _survey_answer(value: str | None) -> dict | None:
    """Turn "cosecha-2026:usa_biol=no" into the survey_answer segment."""
    from bot.proactive import broadcasts

    if not value:
        return None
    try:
        return broadcasts.parse_survey_answer(value)
    except broadcasts.BroadcastError as exc:
        raise click.BadParameter(str(exc), param_hint="--survey-answer") from None


def _lima_time(value: str | None) -> datetime | None:
    from bot.outbound.outbox import LIMA

    if not value:
        return None
    for fmt in ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M"):
        try:
            return datetime.strptime(value, fmt).replace(tzinfo=LIMA)
        except ValueError:
            continue
    raise click.BadParameter(f"{value!r} is not 'YYYY-MM-DD HH:MM' (Lima time)", param_hint="--at")


def _broadcast(session, broadcast_id: int) -> Broadcast:
    b = session.get(Broadcast, broadcast_id)
    if b is None:
        raise click.ClickException(f"no broadcast {broadcast_id} (see `broadcast list`)")
    return b


@click.group("outbox")
def outbox_group() -> None:
    """Look at the outbox of proactive messages."""


@outbox_group.command("status")
@click.option("--broadcast", "broadcast_id", type=int, help="Only the rows of this broadcast.")
@with_appcontext
def outbox_status(broadcast_id: int | None) -> None:
    """Show how many outbox messages are in each status."""
    from bot.outbound.outbox import counts

    require_migrated()
    with services().db.session() as s:
        found = counts(s, broadcast_id)
    width = max(len(k) for k in found)
    for status, n in found.items():
        click.echo(f"{status:<{width}}  {n}")
    click.echo(f"{'total':<{width}}  {sum(found.values())}")


@click.command("sender")
@click.option("--once", is_flag=True, help="Send everything due now, then exit (else run forever).")
@click.option("--batch", type=int, help="Rows claimed at a time (default OUTBOX_BATCH, 50).")
@click.option("--workers", type=click.IntRange(1, 32),
              help="Threads sending in parallel, sharing the rate limit (default OUTBOX_WORKERS, 4).")
@with_appcontext
def sender_command(once: bool, batch: int | None, workers: int | None) -> None:
    """Run the outbox sender: claim due messages and send them through Twilio."""
    from dataclasses import replace

    from bot.outbound.sender import run_workers

    require_migrated()
    svc = services()
    if svc.twilio is None and once:
        raise click.ClickException("TWILIO_ACCOUNT_SID/TWILIO_AUTH_TOKEN are not set: cannot send")
    if batch:
        svc.settings = replace(svc.settings, outbox_batch=batch)
    workers = workers or svc.settings.outbox_workers
    if once:
        with svc.db.session() as s:
            due = s.query(OutboxMessage).filter(OutboxMessage.status.in_(["queued", "sending"]),
                                                OutboxMessage.next_attempt_at <= utcnow()).count()
        logging.getLogger("bot.channels.twilio").setLevel(logging.ERROR)
        with click.progressbar(length=due, label="sending", file=sys.stderr) as bar:
            totals = run_workers(svc, workers, once=True, progress=bar.update)
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
            run_workers(svc, workers, once=False, stop=lambda: bool(stopping))
    except KeyboardInterrupt:
        pass
    click.echo("sender stopped", err=True)


@click.group("broadcast")
def broadcast_group() -> None:
    """Create, preview, send and cancel broadcasts to a segment of contacts."""


@broadcast_group.command("create")
@click.option("--name", required=True, help="A name staff will recognise.")
@click.option("--text", "texts", multiple=True, required=True, metavar="LANG=TEXT",
              help="The message per language (es, qu, ay); Spanish is the fallback.")
@audience_options("region", "province", "language")
@click.option("--used-channel", type=click.Choice(["sms", "whatsapp"]),
              help="Only contacts who have written on this channel.")
@audience_options("active_days", "crop", "subscription")
@click.option("--survey-answer", metavar="SURVEY:QUESTION=ANSWER",
              help="Only contacts who gave this answer, e.g. cosecha-2026:usa_biol=no.")
@click.option("--channel", type=click.Choice(["sms", "whatsapp"]),
              help="Send on this channel (default: WhatsApp to those who use it, else SMS).")
@click.option("--template", help="Approved WhatsApp template ContentSid (HX...) used outside 24 h.")
@click.option("--template-var", "template_vars", multiple=True, metavar="NAME=VALUE",
              help="A template variable, e.g. 1=Junin (repeatable).")
@click.option("--topic", help="What it is about (prices, climate, agroecology...).")
@click.option("--red-alert", is_flag=True, help="A red climate alert: may be sent in quiet hours.")
@click.option("--at", "at", help="Send once at 'YYYY-MM-DD HH:MM' Lima time (default: when sent).")
@click.option("--cron", help="Recurring, crontab in Lima time, e.g. '0 8 * * 1'.")
@with_appcontext
def broadcast_create(name, texts, region, province, language, used_channel, active_days, crop,
                     subscriptions, survey_answer, channel, template, template_vars, topic,
                     red_alert, at,
                     cron) -> None:
    """Create a draft broadcast; preview it, then send it."""
    from bot.proactive import broadcasts

    require_migrated()
    segment = {"region": list(region), "province": list(province), "language": list(language),
               "channel": used_channel, "active_days": active_days, "crop": list(crop),
               "subscription": list(subscriptions), "survey_answer": _survey_answer(survey_answer)}
    try:
        with services().db.session() as s:
            if segment["survey_answer"]:
                broadcasts.check_survey_answer(s, segment["survey_answer"])
            b = broadcasts.create(s, name=name, texts=pairs(texts, "--text"), segment=segment,
                                  channel=channel, content_sid=template,
                                  content_variables=pairs(template_vars, "--template-var") or None,
                                  topic=topic, urgent=red_alert, send_at=_lima_time(at), cron=cron,
                                  now=utcnow())
            broadcast_id = b.id
    except ValueError as exc:  # BroadcastError, RefusedTopic
        raise click.ClickException(str(exc)) from None
    click.echo(f"broadcast {broadcast_id} created (draft). Next: broadcast preview {broadcast_id}")


@broadcast_group.command("preview")
@click.argument("broadcast_id", type=int)
@with_appcontext
def broadcast_preview(broadcast_id: int) -> None:
    """Show recipients, SMS segments after GSM-7 rewriting and the estimated cost."""
    from bot.proactive.broadcasts import preview

    require_migrated()
    svc = services()
    with svc.db.session() as s:
        b = _broadcast(s, broadcast_id)
        p = preview(s, b, utcnow(), svc.settings)
    click.echo(f"broadcast {b.id} {b.name!r} ({b.status})")
    click.echo(f"recipients: {p['recipients']} (SMS {p['sms']}, WhatsApp {p['whatsapp']})")
    for lang, e in sorted(p["by_language"].items()):
        click.echo(f"  [{lang}] {e['recipients']} recipients; SMS: {e['segments_per_sms']} "
                   f"segment(s) each: {e['sms_text']!r}")
        if e["whatsapp_template"]:
            click.echo(f"       {e['whatsapp_template']} WhatsApp contact(s) outside 24 h: template")
    click.echo(f"SMS segments: {p['sms_segments']}; estimated cost: {p['estimated_cost']:.2f} USD")
    if p["whatsapp_outside_window_without_template"]:
        click.echo(f"warning: {p['whatsapp_outside_window_without_template']} WhatsApp contact(s) "
                   "are outside the 24-hour window and there is no --template: they will fail")
    if p["quiet_hours_now"]:
        click.echo("note: it is quiet hours in Lima (21:00-07:00): messages wait until 07:00")


@broadcast_group.command("send")
@click.argument("broadcast_id", type=int)
@with_appcontext
def broadcast_send(broadcast_id: int) -> None:
    """Schedule a draft; if its time has come, queue its messages now."""
    from bot.proactive import broadcasts

    require_migrated()
    now = utcnow()
    try:
        with services().db.session() as s:
            b = broadcasts.schedule(s, _broadcast(s, broadcast_id), now)
            if b.next_run_at > now:
                click.echo(f"broadcast {b.id} scheduled for {b.next_run_at.astimezone(broadcasts.LIMA):%Y-%m-%d %H:%M} Lima")
                return
            total = len(broadcasts.audience(s, b, now))
            with click.progressbar(length=total, label="queueing",
                                   file=sys.stderr) as bar:
                counts = broadcasts.run(s, b, now, progress=bar.update)
    except broadcasts.BroadcastError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"broadcast {broadcast_id}: {counts['queued']} message(s) queued; the sender "
               "sends them (flask --app server sender)")


@broadcast_group.command("cancel")
@click.argument("broadcast_id", type=int)
@with_appcontext
def broadcast_cancel(broadcast_id: int) -> None:
    """Cancel a broadcast and its messages not yet sent."""
    from bot.proactive import broadcasts

    require_migrated()
    try:
        with services().db.session() as s:
            counts = broadcasts.cancel(s, _broadcast(s, broadcast_id), utcnow())
    except broadcasts.BroadcastError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"broadcast {broadcast_id} canceled; {counts['canceled']} queued message(s) canceled")


@broadcast_group.command("list")
@with_appcontext
def broadcast_list() -> None:
    """List broadcasts, newest first."""
    require_migrated()
    with services().db.session() as s:
        for b in s.scalars(select(Broadcast).order_by(Broadcast.id.desc()).limit(50)):
            when = b.cron or (b.next_run_at or b.send_at or b.created_at).strftime("%Y-%m-%d %H:%M UTC")
            click.echo(f"{b.id:>5}  {b.status:<9}  {when:<20}  {b.name}")


COMMANDS = [outbox_group, sender_command, broadcast_group]

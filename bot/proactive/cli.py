"""Proactive messages' commands: `broadcast create|preview|send|cancel|list`,
`reminder create|list|preview|pause|resume|cancel` and `contact set-date`."""
from __future__ import annotations

import json
import sys
from datetime import date, datetime

import click
from flask.cli import AppGroup
from bot.cli import PHONE, audience_options, needs_schema, pairs
from bot.clock import LIMA
from bot.proactive import audience, broadcasts, reminders
from bot.services import services
from models import Broadcast, utcnow

cli = AppGroup("proactive", help="Broadcast and reminder commands.")


def _survey_answer(value: str | None) -> dict | None:
    """Turn "cosecha-2026:usa_biol=no" into the survey_answer segment."""
    if not value:
        return None
    try:
        return audience.parse_survey_answer(value)
    except audience.SegmentError as exc:
        raise click.BadParameter(str(exc), param_hint="--survey-answer") from None


def _lima_time(value: str | None) -> datetime | None:
    if not value:
        return None
    for fmt in ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M"):
        try:
            return datetime.strptime(value, fmt).replace(tzinfo=LIMA)
        except ValueError:
            continue
    raise click.BadParameter(f"{value!r} is not 'YYYY-MM-DD HH:MM' (Lima time)", param_hint="--at")


def _broadcast(session, broadcast_id: int) -> Broadcast:
    try:
        return broadcasts.get(session, broadcast_id)
    except broadcasts.BroadcastError as exc:
        raise click.ClickException(str(exc)) from None


@cli.group("broadcast")
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
@needs_schema
def broadcast_create(name, texts, region, province, language, used_channel, active_days, crop,
                     subscriptions, survey_answer, channel, template, template_vars, topic,
                     red_alert, at,
                     cron) -> None:
    """Create a draft broadcast; preview it, then send it."""
    segment = {"region": list(region), "province": list(province), "language": list(language),
               "channel": used_channel, "active_days": active_days, "crop": list(crop),
               "subscription": list(subscriptions), "survey_answer": _survey_answer(survey_answer)}
    try:
        with services().db.session() as s:
            if segment["survey_answer"]:
                audience.check_survey_answer(s, segment["survey_answer"])
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
@needs_schema
def broadcast_preview(broadcast_id: int) -> None:
    """Show recipients, SMS segments after GSM-7 rewriting and the estimated cost."""
    svc = services()
    with svc.db.session() as s:
        b = _broadcast(s, broadcast_id)
        p = broadcasts.preview(s, b, utcnow(), svc.settings)
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
@needs_schema
def broadcast_send(broadcast_id: int) -> None:
    """Schedule a draft; if its time has come, queue its messages now."""
    now = utcnow()
    try:
        with services().db.session() as s:
            b = broadcasts.schedule(s, _broadcast(s, broadcast_id), now)
            if b.next_run_at > now:
                local = b.next_run_at.astimezone(broadcasts.LIMA)
                click.echo(f"broadcast {b.id} scheduled for {local:%Y-%m-%d %H:%M} Lima")
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
@needs_schema
def broadcast_cancel(broadcast_id: int) -> None:
    """Cancel a broadcast and its messages not yet sent."""
    try:
        with services().db.session() as s:
            counts = broadcasts.cancel(s, _broadcast(s, broadcast_id), utcnow())
    except broadcasts.BroadcastError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"broadcast {broadcast_id} canceled; {counts['canceled']} queued message(s) canceled")


@broadcast_group.command("list")
@needs_schema
def broadcast_list() -> None:
    """List broadcasts, newest first."""
    with services().db.session() as s:
        for b in broadcasts.newest(s, limit=50):
            when = b.cron or (b.next_run_at or b.send_at or b.created_at).strftime("%Y-%m-%d %H:%M UTC")
            click.echo(f"{b.id:>5}  {b.status:<9}  {when:<20}  {b.name}")


@cli.group("reminder")
def reminder_group() -> None:
    """Define reminders sent N days after a date each contact gave (e.g. sowing)."""


@reminder_group.command("create")
@click.option("--name", required=True, help="A name staff will recognise.")
@click.option("--date-field", required=True,
              help="Which of the contact's dates counts, e.g. siembra (profile dates).")
@click.option("--days", type=int, required=True,
              help="Days after that date (negative: before it), e.g. 30.")
@click.option("--text", "texts", multiple=True, required=True, metavar="LANG=TEXT",
              help="The message per language (es, qu, ay); Spanish is the fallback.")
@audience_options("region", "province", "language", "crop", "subscription")
@click.option("--topic", help="What it is about (agroecology, prices...); never violence.")
@needs_schema
def reminder_create(name, date_field, days, texts, region, province, language, crop,
                    subscriptions, topic) -> None:
    """Create an active reminder; the daily job queues it for each contact once."""
    segment = {"region": list(region), "province": list(province), "language": list(language),
               "crop": list(crop), "subscription": list(subscriptions)}
    try:
        with services().db.session() as s:
            r = reminders.create(s, name=name, date_field=date_field, days=days,
                                 texts=pairs(texts, "--text"), segment=segment, topic=topic,
                                 now=utcnow())
            reminder_id = r.id
    except ValueError as exc:  # ReminderError, RefusedTopic
        raise click.ClickException(str(exc)) from None
    click.echo(f"reminder {reminder_id} created (active). Next: reminder preview {reminder_id}")


@reminder_group.command("list")
@click.option("--all", "include_canceled", is_flag=True, help="Include canceled reminders.")
@needs_schema
def reminder_list(include_canceled: bool) -> None:
    """List reminders, newest first."""
    with services().db.session() as s:
        for r in reminders.list_reminders(s, include_canceled):
            segment = json.dumps(r.segment, ensure_ascii=False) if r.segment else "everyone"
            click.echo(f"{r.id:>5}  {r.status:<8}  {r.date_field} {r.days:+d} days  {r.name}  "
                       f"[{segment}]")


@reminder_group.command("preview")
@click.argument("reminder_id", type=int)
@click.option("--days", type=click.IntRange(0, 366), default=7, show_default=True,
              help="Look this many days ahead.")
@needs_schema
def reminder_preview(reminder_id: int, days: int) -> None:
    """Show who is due in the next days (phones masked), the text per language, segments and cost."""
    try:
        with services().db.session() as s:
            r = reminders.get(s, reminder_id)
            due = reminders.preview(s, r, utcnow(), days)
            cost = reminders.estimate(s, r, utcnow(), services().settings, days)
            click.echo(f"reminder {r.id} {r.name!r} ({r.status}): {r.date_field} {r.days:+d} days")
            for lang, text in sorted(r.texts.items()):
                click.echo(f"  [{lang}] {text}")
    except reminders.ReminderError as exc:
        raise click.ClickException(str(exc)) from None
    if not due:
        click.echo(f"nobody is due in the next {days} day(s)")
    for day, phones in due.items():
        click.echo(f"{day}: {len(phones)} contact(s): {', '.join(phones[:10])}"
                   f"{' ...' if len(phones) > 10 else ''}")
    click.echo(f"messages {cost['recipients']} (SMS {cost['sms']}, WhatsApp {cost['whatsapp']}), "
               f"SMS segments after GSM-7 {cost['sms_segments']}, "
               f"estimated cost USD {cost['estimated_cost']:.2f}")


@needs_schema
def _move(reminder_id: int, status: str) -> None:
    try:
        with services().db.session() as s:
            result = reminders.set_status(s, reminders.get(s, reminder_id), status, utcnow())
    except reminders.ReminderError as exc:
        raise click.ClickException(str(exc)) from None
    extra = f"; {result['canceled']} queued message(s) canceled" if status == "canceled" else ""
    click.echo(f"reminder {reminder_id} {status}{extra}")


@reminder_group.command("pause")
@click.argument("reminder_id", type=int)
def reminder_pause(reminder_id: int) -> None:
    """Stop queueing a reminder until it is resumed."""
    _move(reminder_id, "paused")


@reminder_group.command("resume")
@click.argument("reminder_id", type=int)
def reminder_resume(reminder_id: int) -> None:
    """Queue a paused reminder again."""
    _move(reminder_id, "active")


@reminder_group.command("cancel")
@click.argument("reminder_id", type=int)
def reminder_cancel(reminder_id: int) -> None:
    """Cancel a reminder for good, and its messages not yet sent."""
    _move(reminder_id, "canceled")


@cli.group("contact")
def contact_group() -> None:
    """A contact's stored data: set a date; show, export or erase it (bot/privacy/cli.py)."""


@contact_group.command("set-date")
@click.option("--phone", required=True, type=PHONE,
              help="The contact's number, e.g. +51900000011 (fake).")
@click.option("--name", "field", required=True, help="Which date, e.g. siembra.")
@click.option("--date", "day", required=True, type=click.DateTime(formats=["%Y-%m-%d"]),
              help="The date, YYYY-MM-DD.")
@needs_schema
def contact_set_date(phone: str, field: str, day) -> None:
    """Store a date the contact gave (only with their consent), for reminders."""
    try:
        with services().db.session() as s:
            reminders.set_contact_date(s, reminders.contact_by_phone(s, phone), field,
                                       date(day.year, day.month, day.day))
    except reminders.ReminderError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{phone[:-4]}****: {field} = {day:%Y-%m-%d}")

"""CLI for reminders and contact dates: `reminder create|list|preview|pause|resume|cancel`,
`contact set-date`, `job run NAME`."""
from __future__ import annotations

import json
from datetime import date

import click
from flask.cli import with_appcontext

from bot.cli_common import audience_options, pairs, require_migrated
from bot.services import services
from models import utcnow


@click.group("reminder")
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
@with_appcontext
def reminder_create(name, date_field, days, texts, region, province, language, crop,
                    subscriptions, topic) -> None:
    """Create an active reminder; the daily job queues it for each contact once."""
    from bot.proactive import reminders

    require_migrated()
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
@with_appcontext
def reminder_list(include_canceled: bool) -> None:
    """List reminders, newest first."""
    from bot.proactive.reminders import list_reminders

    require_migrated()
    with services().db.session() as s:
        for r in list_reminders(s, include_canceled):
            segment = json.dumps(r.segment, ensure_ascii=False) if r.segment else "everyone"
            click.echo(f"{r.id:>5}  {r.status:<8}  {r.date_field} {r.days:+d} days  {r.name}  "
                       f"[{segment}]")


@reminder_group.command("preview")
@click.argument("reminder_id", type=int)
@click.option("--days", type=click.IntRange(0, 366), default=7, show_default=True,
              help="Look this many days ahead.")
@with_appcontext
def reminder_preview(reminder_id: int, days: int) -> None:
    """Show who is due in the next days (phones masked), the text per language, segments and cost."""
    from bot.proactive import reminders

    require_migrated()
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


def _move(reminder_id: int, status: str) -> None:
    from bot.proactive import reminders

    require_migrated()
    try:
        with services().db.session() as s:
            result = reminders.set_status(s, reminders.get(s, reminder_id), status, utcnow())
    except reminders.ReminderError as exc:
        raise click.ClickException(str(exc)) from None
    extra = f"; {result['canceled']} queued message(s) canceled" if status == "canceled" else ""
    click.echo(f"reminder {reminder_id} {status}{extra}")


@reminder_group.command("pause")
@click.argument("reminder_id", type=int)
@with_appcontext
def reminder_pause(reminder_id: int) -> None:
    """Stop queueing a reminder until it is resumed."""
    _move(reminder_id, "paused")


@reminder_group.command("resume")
@click.argument("reminder_id", type=int)
@with_appcontext
def reminder_resume(reminder_id: int) -> None:
    """Queue a paused reminder again."""
    _move(reminder_id, "active")


@reminder_group.command("cancel")
@click.argument("reminder_id", type=int)
@with_appcontext
def reminder_cancel(reminder_id: int) -> None:
    """Cancel a reminder for good, and its messages not yet sent."""
    _move(reminder_id, "canceled")


@click.group("contact")
def contact_group() -> None:
    """Staff changes to a contact's stored data."""


@contact_group.command("set-date")
@click.option("--phone", required=True, help="The contact's number, e.g. +51900000011 (fake).")
@click.option("--name", "field", required=True, help="Which date, e.g. siembra.")
@click.option("--date", "day", required=True, type=click.DateTime(formats=["%Y-%m-%d"]),
              help="The date, YYYY-MM-DD.")
@with_appcontext
def contact_set_date(phone: str, field: str, day) -> None:
    """Store a date the contact gave (only with their consent), for reminders."""
    from sqlalchemy import select

    from bot.channels.phones import InvalidPhone, normalise
    from bot.proactive.reminders import ReminderError, set_contact_date
    from models import Contact

    require_migrated()
    try:
        phone = normalise(phone)
    except InvalidPhone as exc:
        raise click.BadParameter(str(exc), param_hint="--phone") from exc
    try:
        with services().db.session() as s:
            contact = s.scalar(select(Contact).where(Contact.phone == phone))
            if contact is None:
                raise click.ClickException(f"no contact with phone {phone}")
            set_contact_date(s, contact, field, date(day.year, day.month, day.day))
    except ReminderError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{phone[:-4]}****: {field} = {day:%Y-%m-%d}")


@click.group("job")
def job_group() -> None:
    """Run a scheduled job by hand (the scheduler runs them on its timetable)."""


@job_group.command("run")
@click.argument("name")
@with_appcontext
def job_run(name: str) -> None:
    """Run job NAME now (e.g. send_price_digest) and print its counts."""
    from bot.jobs import JOBS

    require_migrated()
    if name not in JOBS:
        raise click.ClickException(f"no job {name!r}; jobs: {', '.join(sorted(JOBS))}")
    with services().db.session() as s:
        counts = JOBS[name](s, utcnow())
    click.echo(json.dumps(counts, sort_keys=True))


COMMANDS = [reminder_group, contact_group, job_group]

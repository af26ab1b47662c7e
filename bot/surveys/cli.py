"""CLI for surveys: `survey load|list|send|results|export|close`."""
from __future__ import annotations

import contextlib
import sys

import click
from flask.cli import AppGroup
from bot.cli import audience_options, needs_schema
from bot.services import services
from bot.surveys import service as surveys
from bot.surveys.results import rates, results, write_csv
from models import utcnow

cli = AppGroup("surveys", help="Survey commands.")


@cli.group("survey")
def survey_group() -> None:
    """Load short surveys from data files, send them to a segment, read the results."""


@survey_group.command("load")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@needs_schema
def survey_load(files: tuple[str, ...]) -> None:
    """Validate survey files (flows/data/surveys/*.yml) and store them, by slug."""
    for path in files:
        try:
            with services().db.session() as s:
                survey, what = surveys.load(s, path, utcnow())
                line = f"{survey.slug}: {what} ({len(survey.questions)} questions, {survey.status})"
        except surveys.SurveyError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(line)


@survey_group.command("list")
@needs_schema
def survey_list() -> None:
    """List surveys with their status and response rate."""
    with services().db.session() as s:
        found = surveys.newest(s)
        if not found:
            click.echo("no surveys yet: survey load flows/data/surveys/FILE.yml")
        for survey in found:
            r = rates(s, survey)
            rate = f"{100 * r['response_rate']:.0f}%" if r["response_rate"] is not None else "-"
            click.echo(f"{survey.slug:<24} {survey.status:<8} invited {r['invited']:>6}  "
                       f"answered {r['answered']:>6} ({rate})  completed {r['completed']:>6}  "
                       f"{survey.title}")


@survey_group.command("send")
@click.argument("slug")
@audience_options("region", "province", "language")
@click.option("--channel", "used_channel", type=click.Choice(["sms", "whatsapp"]),
              help="Only contacts who have written on this channel.")
@audience_options("active_days")
@click.option("--dry-run", is_flag=True, help="Only count who would be invited.")
@needs_schema
def survey_send(slug, region, province, language, used_channel, active_days, dry_run) -> None:
    """Invite a segment: each new contact gets the first question through the outbox.

    Sending again adds only contacts not yet invited. Opted-out and unconsented
    contacts, and anyone near a conversation about violence, are never invited.
    """
    segment = {"region": list(region), "province": list(province), "language": list(language),
               "channel": used_channel, "active_days": active_days}
    now = utcnow()
    try:
        with services().db.session() as s:
            survey = surveys.get(s, slug)
            total = len(surveys.audience(s, {k: v for k, v in segment.items() if v}, now))
            if dry_run:
                click.echo(f"{slug}: {total} contact(s) in this segment (nothing sent)")
                return
            with click.progressbar(length=total, label="inviting", file=sys.stderr) as bar:
                counts = surveys.send(s, survey, segment, now, progress=bar.update)
    except surveys.SurveyError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{slug}: {counts['invited']} contact(s) invited, {counts['already_invited']} "
               "already invited; the sender sends the questions (flask --app server sender)")


@survey_group.command("results")
@click.argument("slug")
@needs_schema
def survey_results(slug: str) -> None:
    """Print response rates and the results of each question."""
    try:
        with services().db.session() as s:
            r = results(s, surveys.get(s, slug))
    except surveys.SurveyError as exc:
        raise click.ClickException(str(exc)) from None
    rates = r["rates"]
    click.echo(f"{r['survey']} ({r['status']}): {r['title']}  [source: {r['source']}]")

    def pct(x):
        return f"{100 * x:.0f}%" if x is not None else "-"

    click.echo(f"invited {rates['invited']}, answered {rates['answered']} "
               f"({pct(rates['response_rate'])}), completed {rates['completed']} "
               f"({pct(rates['completion_rate'])}), stopped {rates['stopped']}")
    for i, q in enumerate(r["questions"], 1):
        click.echo(f"\n{i}. {q['text']} [{q['key']}, {q['type']}] answers {q['n']}, "
                   f"skipped {q['skipped']}")
        for label, n in q.get("counts", []):
            click.echo(f"   {label:<20} {n:>6}  {'#' * round(30 * n / max(q['n'], 1))}")
        if q["type"] == "number" and q["figures"]:
            f = q["figures"]
            click.echo(f"   n {q['n']}, min {f['min']:g}, median {f['median']:g}, mean "
                       f"{f['mean']:g}, max {f['max']:g} {q['unit']}")
        if q["type"] == "date" and q["dates"]:
            click.echo(f"   n {q['n']}, earliest {q['dates']['earliest']}, "
                       f"latest {q['dates']['latest']}")
        for text in q.get("latest", []):
            click.echo(f"   - {text}")


@survey_group.command("export")
@click.argument("slug")
@click.option("--csv", "csv_path", required=True, type=click.Path(dir_okay=False, writable=True),
              help="Write one row per participant to this CSV file ('-' for stdout).")
@click.option("--full-phone", is_flag=True,
              help="Write whole phone numbers (default: masked, last 4 digits hidden).")
@needs_schema
def survey_export(slug: str, csv_path: str, full_phone: bool) -> None:
    """Export the answers as CSV, one row per participant, one column per question."""
    try:
        with services().db.session() as s, (
                open(csv_path, "w", encoding="utf-8", newline="") if csv_path != "-"
                else contextlib.nullcontext(sys.stdout)) as fh:
            survey = surveys.get(s, slug)
            total = surveys.participant_count(s, survey)
            with click.progressbar(length=total, label="exporting",
                                   file=sys.stderr) as bar:
                n = write_csv(s, survey, fh, full_phone=full_phone, progress=bar.update)
    except surveys.SurveyError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{slug}: {n} participant(s) written to {csv_path}", err=csv_path == "-")


@survey_group.command("close")
@click.argument("slug")
@needs_schema
def survey_close(slug: str) -> None:
    """Close a survey now: open participations expire and no answer is taken any more."""
    try:
        with services().db.session() as s:
            n = surveys.expire(s, surveys.get(s, slug), utcnow())
    except surveys.SurveyError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{slug}: closed; {n} open participation(s) expired")


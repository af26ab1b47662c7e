"""The CLI's shared pieces and the app-wide commands (`flask --app server <command>`).

Each domain package keeps its own commands in an `AppGroup` beside its code
(bot/<package>/cli.py) and registers them at the top level in its `init_app`,
so every command name stays as the README documents it. Here: the one schema check
(`needs_schema`), the options several packages share, and the commands that
belong to no one domain: `migrate`, `load-demo`, `scheduler`, `job run`, `backup`,
`restore`.
"""
from __future__ import annotations

import json
import logging
import sys
from functools import wraps
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

from bot import scheduler
from bot.channels.phones import InvalidPhone, to_e164
from bot.db import BackupError, backup, is_migrated, migrate, restore
from bot.knowledge.demo import NotADemoDatabase, load_demo
from bot.jobs import JOBS
from bot.services import services
from bot.settings import default_database_url
from models import utcnow

cli = AppGroup("app", help="The app-wide commands.")


def needs_schema(command):
    """Stop the command with a clear message when the database has not been migrated yet."""

    @wraps(command)
    def checked(*args, **kwargs):
        if not is_migrated(services().db):
            if not services().db.ping():  # not "not migrated": systemd retries, the admin checks it
                raise click.ClickException("the database does not answer: is it up, and DATABASE_URL right?")
            raise click.ClickException(
                "the database is not migrated: run `flask --app server migrate` (or `make run`)")
        return command(*args, **kwargs)

    return checked


def add_commands(app: Flask, group: AppGroup) -> None:
    """Register every command of a package's group at the top level of `flask --app server`."""
    for command in group.commands.values():
        app.cli.add_command(command)


class PhoneType(click.ParamType):
    """A phone number option, normalised to E.164 (a bad one is a usage error, exit 2)."""

    name = "phone"

    def convert(self, value, param, ctx):
        try:
            return to_e164(value)
        except InvalidPhone as exc:
            self.fail(str(exc), param, ctx)


PHONE = PhoneType()


def pairs(values: tuple[str, ...], option: str) -> dict:
    """Turn ("es=hola", ...) into {"es": "hola"}; a missing '=' is a usage error."""
    result = {}
    for value in values:
        name, sep, text = value.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(f"expected NAME=VALUE, got {value!r}", param_hint=option)
        result[name.strip()] = text
    return result


# The audience (segment) options, worded once for broadcasts, reminders and surveys.
AUDIENCE_OPTIONS = {
    "region": click.option("--region", multiple=True,
                           help="Only contacts in this region (repeatable)."),
    "province": click.option("--province", multiple=True,
                             help="Only contacts in this province (repeatable)."),
    "language": click.option("--language", multiple=True,
                             help="Only contacts with this language (repeatable)."),
    "active_days": click.option("--active-days", type=int,
                                help="Only contacts who wrote in the last N days."),
    "crop": click.option("--crop", multiple=True,
                         help="Only contacts who grow or follow this product: its weekly prices, "
                              "or it among their crops (repeatable: any of them)."),
    "subscription": click.option("--subscription", "subscriptions", multiple=True,
                                 type=click.Choice(["prices", "alerts", "calendar"]),
                                 help="Only contacts with an active subscription of this kind "
                                      "(repeatable)."),
}


def audience_options(*keys: str):
    """Add the audience options `keys` to a command, in that order."""

    def decorate(command):
        for key in reversed(keys):
            command = AUDIENCE_OPTIONS[key](command)
        return command

    return decorate


@cli.command("migrate")
@click.option("--revision", default="head", show_default=True, help="Alembic revision to reach.")
def migrate_command(revision: str) -> None:
    """Create or upgrade the database schema (Alembic)."""
    logging.getLogger("alembic").setLevel(logging.INFO)
    migrate(services().db.url, revision)
    click.echo(f"database at {revision}")


@cli.command("load-demo")
@needs_schema
def load_demo_command() -> None:
    """Load the demo data into the demo database (an empty one, or one marked demo); else exit 2."""
    if services().settings.production:
        click.echo("CHASKI_ENV=production: the demo data is never loaded here", err=True)
        sys.exit(2)
    try:
        with services().db.session() as session:
            counts = load_demo(session)
    except NotADemoDatabase as refused:
        click.echo(str(refused), err=True)
        if services().db.url == default_database_url():  # made before databases were marked
            click.echo(f"Para empezar la demo de nuevo, borre / to start the demo afresh, delete "
                       f"{default_database_url().removeprefix('sqlite:///')}", err=True)
        sys.exit(2)
    click.echo("base de datos de demostración / demo database: datos de MUESTRA, "
               "avisos de ejercicio (nunca se envían) / SAMPLE data, exercise alerts (never pushed)")
    click.echo(f"demo data: {counts}")


@cli.command("backup")
@click.option("--out", "out_dir", required=True, help="Folder to write the backup file into.",
              type=click.Path(file_okay=False, path_type=Path))
@needs_schema
def backup_command(out_dir: Path) -> None:
    """Write a backup of the database into DIR (PostgreSQL: pg_dump -Fc; SQLite: a copy)."""
    try:
        path = backup(services().db.url, out_dir, utcnow())
    except (BackupError, OSError) as exc:
        click.echo(f"backup failed, no file written: {exc}", err=True)
        sys.exit(1)
    click.echo(f"backup: {path} ({path.stat().st_size:,} bytes)")


@cli.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def restore_command(file: Path) -> None:
    """Restore FILE (made by `backup`) into the database; refused unless it holds no data."""
    try:
        restore(services().db.url, file)
    except BackupError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    click.echo(f"restored {file}; run `flask --app server migrate` if this code is newer than it")


@cli.command("scheduler")
@needs_schema
def scheduler_command() -> None:
    """Run the scheduler process (one per deployment, never in web workers)."""
    scheduler.run(services().db.url)


@cli.group("job")
def job_group() -> None:
    """Run a scheduled job by hand (the scheduler runs them on its timetable)."""


@job_group.command("run")
@click.argument("name")
@needs_schema
def job_run(name: str) -> None:
    """Run job NAME now (e.g. send_price_digest) and print its counts."""
    if name not in JOBS:
        raise click.ClickException(f"no job {name!r}; jobs: {', '.join(sorted(JOBS))}")
    with services().db.session() as s:
        counts = JOBS[name](s, utcnow())
    click.echo(json.dumps(counts, sort_keys=True))


def init_app(app: Flask) -> None:
    add_commands(app, cli)

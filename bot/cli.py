"""Command-line interface: `flask --app server <command>` (see CONTRACT.md)."""
from __future__ import annotations

import json
import logging
import sys

import click
from flask import Flask
from flask.cli import with_appcontext

from bot.cli_common import require_migrated
from bot.runtime import services
from bot.settings import default_database_url


@click.command("chat")
@click.option("--phone", required=True, help="Talk as this phone number, e.g. +51900000001 (fake).")
@click.option("--channel", type=click.Choice(["sms", "whatsapp"]), default="sms", show_default=True,
              help="Answer as on this channel: SMS replies are rewritten to GSM-7.")
@click.option("--verbose", is_flag=True, help="Show the app's log lines between the replies.")
@with_appcontext
def chat_command(phone: str, channel: str, verbose: bool) -> None:
    """Talk to the bot as a contact: each stdin line is one inbound message."""
    if not verbose:
        logging.getLogger().setLevel(logging.ERROR)
    from bot.engine import Inbound
    from bot.phones import InvalidPhone, normalise

    try:
        phone = normalise(phone)
    except InvalidPhone as exc:
        raise click.BadParameter(str(exc), param_hint="--phone") from exc
    require_migrated()
    engine = services().engine
    if not services().nlu.is_ready():
        click.echo(f"note: no NLU server answers at {services().settings.nlu_url}: only menu "
                   "digits, STOP/ALTA and emergency words are understood (start it: make nlu)",
                   err=True)
    interactive = sys.stdin.isatty()
    if interactive:
        click.echo(f"Chaski chat as {phone} on {channel}. Ctrl-D to leave.", err=True)
    while True:
        if interactive:
            click.echo("> ", nl=False, err=True)
        line = sys.stdin.readline()
        if not line:
            break
        text = line.rstrip("\n")
        if not interactive:
            click.echo(f"> {text}")
        outcome = engine.handle(Inbound(address=phone, body=text, channel=channel))
        for reply, segments in zip(outcome.replies, outcome.segments):
            cost = f"  [{segments} SMS]" if channel == "sms" else ""
            click.echo(f"< {reply}{cost}")


@click.command("nlu-classify")
@with_appcontext
def nlu_classify_command() -> None:
    """Read one message a line on stdin; write one JSON object a line (rules, then model)."""
    classifier = services().classifier
    warned = False
    for line in sys.stdin:
        parse = classifier.classify(line.rstrip("\n"))
        if parse.nlu_down and not warned:
            click.echo(f"warning: NLU server at {services().settings.nlu_url} does not answer; "
                       "only the rules classify", err=True)
            warned = True
        click.echo(json.dumps(parse.as_json(), ensure_ascii=False))
        sys.stdout.flush()


@click.command("train-nlu")
@click.option("--force", is_flag=True, help="Train even if a model for this data already exists.")
def train_nlu_command(force: bool) -> None:
    """Train the Rasa NLU model from nlu/data and config.yml (skipped when up to date)."""
    from nlu.runtime import NLURuntimeError, train

    try:
        path = train(force=force, echo=click.echo)
    except NLURuntimeError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"model: {path}")


@click.command("migrate")
@click.option("--revision", default="head", show_default=True, help="Alembic revision to reach.")
@with_appcontext
def migrate_command(revision: str) -> None:
    """Create or upgrade the database schema (Alembic)."""
    from bot.db import migrate

    logging.getLogger("alembic").setLevel(logging.INFO)
    migrate(services().db.url, revision)
    click.echo(f"database at {revision}")


@click.command("load-demo")
@with_appcontext
def load_demo_command() -> None:
    """Load the demo data into the demo database (an empty one, or one marked demo); else exit 2."""
    from bot.demo import NotADemoDatabase, load_demo

    require_migrated()
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


@click.command("scheduler")
@with_appcontext
def scheduler_command() -> None:
    """Run the scheduler process (one per deployment, never in web workers)."""
    from bot.scheduler import run

    require_migrated()
    run(services().db.url)


@click.command("create-user")
@click.option("--email", required=True, help="The staff member's e-mail (their sign-in name).")
@click.option("--role", required=True, type=click.Choice(["admin", "coordinator", "reviewer",
                                                          "counsellor"]),
              help="counsellor is the only role that sees conversations about violence.")
@click.option("--password-stdin", is_flag=True,
              help="Read the password from the first line of stdin (for scripts).")
@with_appcontext
def create_user_command(email: str, role: str, password_stdin: bool) -> None:
    """Create a staff account for the console (the password is prompted)."""
    from bot.console.admin import create_user
    from models import AuditLog

    require_migrated()
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        with services().db.session() as session:
            user = create_user(session, email, role, password)
            session.add(AuditLog(user_id=user.id, email=user.email, action="user_create",
                                 target=f"user:{user.id}", detail={"role": role, "via": "cli"}))
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"created {user.email} ({user.role})")


@click.command("export-training")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Directory to write reviewed.yml to (default: nlu/data).")
@with_appcontext
def export_training_command(out: str | None) -> None:
    """Write reviewed messages as Rasa training data (nlu/data/reviewed.yml), once each."""
    from pathlib import Path

    from bot.console.training import DATA_DIR, export_training
    from models import AuditLog

    require_migrated()
    with services().db.session() as session:
        report = export_training(session, Path(out) if out else DATA_DIR)
        session.add(AuditLog(action="export_training", target=report.path.name,
                             detail={"examples": report.examples, "via": "cli"}))
    if not report.written:
        click.echo("nothing to export: no reviewed messages yet")
        return
    click.echo(f"wrote {report.examples} examples to {report.path} {report.by_intent}")
    if report.skipped_existing or report.skipped_unannotatable:
        click.echo(f"skipped: {report.skipped_existing} already in the training data, "
                   f"{report.skipped_unannotatable} whose entities are not in the text")


@click.command("retrain-nlu")
@click.option("--heldout", type=click.Path(exists=True, dir_okay=True), default=None,
              help="Held-out NLU data never trained on: nlu/heldout.txt (the default) or Rasa "
                   "YAML.")
@click.option("--queue", is_flag=True,
              help="Only queue the retraining: the scheduler process runs it within a minute "
                   "(as the console's button does).")
@with_appcontext
def retrain_nlu_command(heldout: str | None, queue: bool) -> None:
    """Export reviews, retrain, and keep the old model if held-out accuracy drops."""
    from pathlib import Path

    from bot.training_runs import RunInProgress, enqueue, execute
    from models import AuditLog, utcnow
    from nlu.evaluate import HELDOUT_FILE

    require_migrated()
    try:
        with services().db.session() as session:
            run = enqueue(session, requested_by="cli", now=utcnow(), start=not queue)
            run_id = run.id
    except RunInProgress as exc:
        raise click.ClickException(f"{exc}: wait for it (see the console's Reentrenar page)")
    if queue:
        click.echo(f"retraining #{run_id} queued: the scheduler runs it within a minute")
        return
    with services().db.session() as session:
        run = execute(session, run_id, heldout=Path(heldout or HELDOUT_FILE), echo=click.echo)
        session.add(AuditLog(action="retrain_nlu", target=run.status, detail={
            "run": run.id, "old_accuracy": run.old_accuracy, "new_accuracy": run.new_accuracy,
            "examples": run.examples, "via": "cli"}))
    if run.status == "failed":
        raise click.ClickException(f"retraining #{run_id} failed: {run.error}")
    if run.new_accuracy is not None:
        click.echo(f"held-out accuracy: before {run.old_accuracy:.3f}, "
                   f"after {run.new_accuracy:.3f}; model in use: "
                   f"{'new' if run.status == 'kept_new' else 'old'}")


COMMANDS = [chat_command, nlu_classify_command, train_nlu_command, migrate_command,
            load_demo_command, scheduler_command, create_user_command, export_training_command,
            retrain_nlu_command]


def init_app(app: Flask) -> None:
    from bot import cli_outbox, cli_reminders, cli_surveys

    for command in COMMANDS + cli_outbox.COMMANDS + cli_reminders.COMMANDS + cli_surveys.COMMANDS:
        app.cli.add_command(command)


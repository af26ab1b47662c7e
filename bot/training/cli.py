"""The NLU's commands: `nlu-classify`, `train-nlu`, `export-training`, `retrain-nlu`."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask.cli import AppGroup

from bot.cli import needs_schema
from bot.services import services
from bot.training.export import DATA_DIR, export_training
from bot.training.runs import RunInProgress, enqueue, execute
from models import AuditLog, utcnow
from nlu import runtime as nlu_runtime
from nlu.evaluate import HELDOUT_FILES

cli = AppGroup("training", help="NLU commands.")


@cli.command("nlu-classify")
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


@cli.command("train-nlu", with_appcontext=False)
@click.option("--force", is_flag=True, help="Train even if a model for this data already exists.")
def train_nlu_command(force: bool) -> None:
    """Train the Rasa NLU model from nlu/data and config.yml (skipped when up to date)."""
    try:
        path = nlu_runtime.train(force=force, echo=click.echo)
    except nlu_runtime.NLURuntimeError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"model: {path}")


@cli.command("export-training")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Directory to write reviewed.yml to (default: nlu/data).")
@needs_schema
def export_training_command(out: str | None) -> None:
    """Write reviewed messages as Rasa training data (nlu/data/reviewed.yml), once each."""
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


@cli.command("retrain-nlu")
@click.option("--heldout", type=click.Path(exists=True, dir_okay=True), default=None,
              help="Held-out NLU data never trained on (Rasa YAML or our .txt format); by "
                   "default both nlu/heldout.txt and nlu/heldout2.txt.")
@click.option("--queue", is_flag=True,
              help="Only queue the retraining: the scheduler process runs it within a minute "
                   "(as the console's button does).")
@needs_schema
def retrain_nlu_command(heldout: str | None, queue: bool) -> None:
    """Export reviews, retrain, and keep the old model if held-out accuracy drops."""
    try:
        with services().db.session() as session:
            run = enqueue(session, requested_by="cli", now=utcnow(), start=not queue)
            run_id = run.id
    except RunInProgress as exc:
        raise click.ClickException(f"{exc}: wait for it (see the console's Reentrenar page)") from None
    if queue:
        click.echo(f"retraining #{run_id} queued: the scheduler runs it within a minute")
        return
    with services().db.session() as session:
        run = execute(session, run_id, heldout=Path(heldout) if heldout else HELDOUT_FILES,
                      echo=click.echo)
        session.add(AuditLog(action="retrain_nlu", target=run.status, detail={
            "run": run.id, "old_accuracy": run.old_accuracy, "new_accuracy": run.new_accuracy,
            "examples": run.examples, "via": "cli"}))
    if run.status == "failed":
        raise click.ClickException(f"retraining #{run_id} failed: {run.error}")
    if run.new_accuracy is not None:
        click.echo(f"held-out accuracy: before {run.old_accuracy:.3f}, "
                   f"after {run.new_accuracy:.3f}; model in use: "
                   f"{'new' if run.status == 'kept_new' else 'old'}")

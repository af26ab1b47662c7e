"""Import commands for topic data: `import-prices FILE.csv` and `import-alerts FILE.xml`."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask
from flask.cli import with_appcontext

from bot.services import services

PROGRESS_MIN_ROWS = 1000  # smaller files import in well under a second


@click.command("import-prices")
@click.argument("csv_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--source", help="Source shown with every price (default: the file's "
                                "'# fuente:' comment, else MIDAGRI).")
@with_appcontext
def import_prices_command(csv_file: Path, source: str | None) -> None:
    """Import a price bulletin CSV; re-importing the same rows changes nothing."""
    from bot.cli_common import require_migrated
    from bot.knowledge.prices import BulletinError, import_prices

    require_migrated()

    def progress(rows):
        if len(rows) < PROGRESS_MIN_ROWS:
            return iter(rows)
        return _bar(rows)

    try:
        with services().db.session() as session:
            result = import_prices(session, csv_file, source=source, progress=progress)
    except BulletinError as exc:
        raise click.ClickException(str(exc)) from exc
    for error in result.rejected:
        click.echo(f"{csv_file.name}:{error.line}: rejected: {error.reason}", err=True)
    click.echo(f"{csv_file.name}: {result.summary()} (source: {result.source})")


def _bar(rows):
    with click.progressbar(rows, label="reading rows", file=sys.stderr) as bar:
        yield from bar


@click.command("import-alerts")
@click.argument("xml_file", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def import_alerts_command(xml_file: Path) -> None:
    """Import CAP 1.2 alerts (one <alert> or a feed); Update/Cancel supersede what they name."""
    from bot.cli_common import require_migrated
    from bot.knowledge.alerts import AlertFileError, import_alerts

    require_migrated()
    try:
        with services().db.session() as session:
            result = import_alerts(session, xml_file)
    except AlertFileError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{xml_file.name}: {result.summary()}")


COMMANDS = [import_prices_command, import_alerts_command]


def init_app(app: Flask) -> None:
    for command in COMMANDS:
        app.cli.add_command(command)

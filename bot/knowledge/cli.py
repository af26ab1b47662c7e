"""Import commands for topic data: `import-prices FILE.csv` and `import-alerts FILE.xml|URL`."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import AppGroup

from bot.cli import needs_schema
from bot.knowledge.alerts import AlertFileError, import_alerts, import_parsed
from bot.knowledge.feeds import read_url
from bot.knowledge.fetch import FetchError
from bot.knowledge.prices import BulletinError, import_prices
from bot.services import services

cli = AppGroup("knowledge", help="Import commands.")

PROGRESS_MIN_ROWS = 1000  # smaller files import in well under a second


@cli.command("import-prices")
@click.argument("csv_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--source", help="Source shown with every price (default: the file's "
                                "'# fuente:' comment, else MIDAGRI).")
@needs_schema
def import_prices_command(csv_file: Path, source: str | None) -> None:
    """Import a price bulletin CSV; re-importing the same rows changes nothing."""
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


@cli.command("import-alerts")
@click.argument("source", metavar="FILE.xml|URL")
@needs_schema
def import_alerts_command(source: str) -> None:
    """Import CAP 1.2 alerts from a file or an http(s) URL (one <alert>, a feed, or an index
    linking to CAP files); Update/Cancel supersede what they name; nothing written on any error."""
    try:
        with services().db.session() as session:
            if source.startswith(("http://", "https://")):
                name = source.rstrip("/").rsplit("/", 1)[-1] or source
                result = import_parsed(session, read_url(source), name)
            else:
                name = Path(source).name
                result = import_alerts(session, Path(source))
    except (AlertFileError, FetchError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{name}: {result.summary()}")

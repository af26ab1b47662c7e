"""`knowledge export DIR`, `knowledge import DIR` and `knowledge seed`."""
from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from bot.cli import needs_schema
from bot.services import services
from bot.topics import files, store
from models import utcnow

cli = AppGroup("knowledge", help="The knowledge base's working copy: export, import, seed.")


@cli.command("export")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@needs_schema
def export_command(directory: Path) -> None:
    """Write the published knowledge base as one YAML file per category into DIRECTORY."""
    with services().db.session() as session:
        if store.revision(session) is None:  # no working copy yet: it is the shipped seed
            store.ensure_seeded(session, utcnow())
        written = files.export(session, directory)
    click.echo(f"{len(written)} archivos escritos en {directory}")


@cli.command("import")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--by", "email", default="knowledge import", show_default=True,
              help="Who the drafts are from (a second person publishes them in the console).")
@click.option("--publish", is_flag=True,
              help="Publish at once: only for files already reviewed by a second person in git.")
@needs_schema
def import_command(directory: Path, email: str, publish: bool) -> None:
    """Import DIRECTORY's YAML files: changed topics become drafts; any problem, nothing is written."""
    editor = store.Editor(None, email, "technician")
    with services().db.session() as session:  # no seeding: into an empty database, the files are all
        result = files.import_dir(session, directory, editor, utcnow(), publish=publish)
        if result.problems:
            session.rollback()
    if result.problems:
        for problem in result.problems:
            click.echo(str(problem), err=True)
        raise click.ClickException(f"{len(result.problems)} problemas: no se importó nada")
    what = "publicados" if publish else "borradores (otra persona los publica en la consola)"
    click.echo(f"{len(result.changed)} temas cambiados, {what}; {result.unchanged} sin cambios")


@cli.command("seed")
@needs_schema
def seed_command() -> None:
    """Add the shipped topics (flows/data/agroecology) the database does not have yet."""
    with services().db.session() as session:
        added = store.ensure_seeded(session, utcnow())
    click.echo(f"{added} temas añadidos desde los archivos del repositorio")

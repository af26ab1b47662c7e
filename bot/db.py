"""Own the database engine, sessions and Alembic migrations."""
from __future__ import annotations

import re
import sqlite3
import subprocess
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from models import Base

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "models" / "migrations"
# Tables owned by other libraries: migrations neither create nor drop them.
FOREIGN_TABLES = {"scheduler_jobs"}


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Tell Alembic to leave the tables of other libraries (APScheduler) alone."""
    table = obj if type_ == "table" else getattr(obj, "table", None)
    return getattr(table, "name", name) not in FOREIGN_TABLES


# Every SQLite connection: foreign keys on; WAL (readers never block the writer); a 15 s busy
# timeout (the writer of the moment holds the lock for a few statements: the engine writes a
# turn in one burst before its commit); synchronous stays FULL on purpose: a commit survives a
# power cut, which the outbox's claims rely on (a lost claim could send a message twice); in-
# memory temporary tables; a 16 MB page cache; the WAL checkpointed back to about 64 MB.
SQLITE_PRAGMAS = ("foreign_keys=ON", "journal_mode=WAL", "busy_timeout=15000", "synchronous=FULL",
                  "temp_store=MEMORY", "cache_size=-16000", "journal_size_limit=67108864")


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite gets foreign keys, WAL and the rest of SQLITE_PRAGMAS."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 15})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            for pragma in SQLITE_PRAGMAS:
                cur.execute(f"PRAGMA {pragma}")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


class Database:
    """Hold one engine and a session factory for the app, CLI and scheduler."""

    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self):
        """Yield a session that commits on success and rolls back on error."""
        session: Session = self.sessionmaker()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def ping(self) -> bool:
        """Return whether the database answers a trivial query."""
        try:
            with self.engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
            return True
        except Exception:  # noqa: BLE001 - health check reports, never raises
            return False

    def dispose(self) -> None:
        self.engine.dispose()


def alembic_config(url: str):
    """Return an Alembic Config pointing at models/migrations for `url`."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def migrate(url: str, revision: str = "head") -> None:
    """Upgrade the database at `url` to `revision`."""
    command.upgrade(alembic_config(url), revision)


def is_migrated(db: Database) -> bool:
    """Return whether the database is at the newest migration."""
    head = ScriptDirectory.from_config(alembic_config(db.url)).get_current_head()
    try:
        with db.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision() == head
    except Exception:  # noqa: BLE001 - an unreachable database is not migrated
        return False


def reset_schema(url: str) -> None:
    """Drop every Chaski table at `url`, then migrate from scratch (tests and benches only)."""
    engine = create_engine(url)
    with engine.begin() as conn:
        Base.metadata.drop_all(conn)
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        for table in FOREIGN_TABLES:
            conn.execute(text(f"DROP TABLE IF EXISTS {table}"))
    engine.dispose()
    migrate(url)


# ---- backups ----------------------------------------------------------------
class BackupError(RuntimeError):
    """A backup or restore could not be made; nothing was left half-written."""


def libpq_url(url: str) -> str:
    """Return a SQLAlchemy PostgreSQL URL as libpq reads it (no +driver)."""
    return re.sub(r"^postgresql\+\w+://", "postgresql://", url)


def sqlite_path(url: str) -> Path:
    """Return the file of a SQLite URL."""
    return Path(url.split("///", 1)[-1])


def backup(url: str, out_dir: Path, now: datetime) -> Path:
    """Write a consistent copy of the database into `out_dir`; return the file.

    PostgreSQL: `pg_dump -Fc` (custom format, for pg_restore). SQLite: the online
    backup API, safe while the app writes. The copy is written under a temporary
    name and renamed when complete, so a failed backup leaves no partial file.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    suffix = ".sqlite" if url.startswith("sqlite") else ".dump"
    target = out_dir / f"chaski-{now:%Y%m%d-%H%M%S}{suffix}"
    partial = target.with_name(target.name + ".partial")
    try:
        if url.startswith("sqlite"):
            with sqlite3.connect(sqlite_path(url)) as src, sqlite3.connect(partial) as dst:
                src.backup(dst)
        else:
            done = subprocess.run(["pg_dump", "-Fc", "--no-owner", "-f", str(partial), libpq_url(url)],
                                  capture_output=True, text=True)
            if done.returncode:
                raise BackupError(f"pg_dump failed: {done.stderr.strip()}")
        partial.rename(target)
    finally:
        partial.unlink(missing_ok=True)
    return target


# What running processes write about themselves, not data: a database where a sender or the
# scheduler has already started still counts as empty for `restore`, which replaces them.
RUN_STATE_TABLES = {"heartbeats", *FOREIGN_TABLES}


def data_tables(db: Database) -> dict[str, int]:
    """Return the rows of every table that holds data (not Alembic's version table)."""
    with db.engine.connect() as conn:
        names = [n for n in inspect(conn).get_table_names() if n != "alembic_version"]
        return {n: conn.execute(text(f'SELECT count(*) FROM "{n}"')).scalar() for n in names}


def restore(url: str, path: Path) -> None:
    """Restore the backup at `path` into the database at `url`, which must hold no data."""
    if not path.is_file():
        raise BackupError(f"no backup file {path}")
    db = Database(url)
    try:
        full = {name: n for name, n in data_tables(db).items() if n}
    finally:
        db.dispose()
    full = {name: n for name, n in full.items() if name not in RUN_STATE_TABLES}
    if full:
        raise BackupError("la base de datos de destino no está vacía / the target database is not "
                          f"empty ({', '.join(f'{n} {t}' for t, n in sorted(full.items()))}): "
                          "nothing was restored")
    if url.startswith("sqlite"):
        if path.suffix != ".sqlite":
            raise BackupError(f"{path} is not a SQLite backup (chaski-*.sqlite)")
        with sqlite3.connect(path) as src, sqlite3.connect(sqlite_path(url)) as dst:
            src.backup(dst)
        return
    if path.suffix != ".dump":
        raise BackupError(f"{path} is not a PostgreSQL backup (chaski-*.dump)")
    done = subprocess.run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
                           "--exit-on-error", "-d", libpq_url(url), str(path)],
                          capture_output=True, text=True)
    if done.returncode:
        raise BackupError(f"pg_restore failed, nothing restored: {done.stderr.strip()}")

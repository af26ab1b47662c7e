"""Own the database engine, sessions and Alembic migrations."""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, event, text
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


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite gets foreign keys, WAL and a busy timeout."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 15})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
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

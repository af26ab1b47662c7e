"""`backup --out DIR` and `restore FILE`: a populated database round-trips, every table alike."""
from __future__ import annotations

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from bot.db import BackupError, Database, backup, data_tables
from bot.services import services
from models import OutboxMessage, User, utcnow
from tests.conftest import make_app
from tests.fakes.topics import cli


def rows_of_every_table(url: str) -> dict[str, list[tuple]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            names = sorted(inspect(conn).get_table_names())
            return {n: [tuple(r) for r in conn.execute(text(f'SELECT * FROM "{n}" ORDER BY 1'))]
                    for n in names}
    finally:
        engine.dispose()


def empty_target(database_url: str, tmp_path) -> str:
    """Return the URL of a new, empty database beside the test one."""
    if database_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'restored.sqlite'}"
    url = make_url(database_url)
    name = f"{url.database}_restore"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def populate(app, talk) -> None:
    assert cli(app, "load-demo").exit_code == 0
    for text_ in ("hola", "1", "BAJA"):
        talk(text_, phone="+51900000041")
    db = services(app).db
    with db.session() as s:
        s.add(User(email="coord@ong.example", role="coordinator", password_hash="x"))
        s.add(OutboxMessage(key="test:1", source="broadcast", contact_id=1, channel="sms",
                            body="Taller de biol: sábado 9:00", status="queued"))


def test_a_populated_database_round_trips(app, talk, database_url, tmp_path):
    populate(app, talk)
    made = cli(app, "backup", "--out", tmp_path / "backups")
    assert made.exit_code == 0, made.output
    [path] = (tmp_path / "backups").iterdir()
    assert path.name.startswith("chaski-") and f"({path.stat().st_size:,} bytes)" in made.output
    target = empty_target(database_url, tmp_path)
    restored = cli(make_app(target), "restore", path)
    assert restored.exit_code == 0, restored.output
    before, after = rows_of_every_table(database_url), rows_of_every_table(target)
    assert after == before
    assert len(after["contacts"]) == 5 and len(after["price_reports"]) > 100  # really populated


def test_a_database_where_a_sender_has_run_still_counts_as_empty(app, talk, database_url,
                                                                 tmp_path):
    from bot.db import migrate
    from models.heartbeats import beat

    populate(app, talk)
    assert cli(app, "backup", "--out", tmp_path / "b").exit_code == 0
    [path] = (tmp_path / "b").iterdir()
    target = empty_target(database_url, tmp_path)
    migrate(target)
    db = Database(target)
    with db.session() as s:
        beat(s, "sender", utcnow())  # the sender started against the new server's database
    db.dispose()
    restored = cli(make_app(target), "restore", path)
    assert restored.exit_code == 0, restored.output
    assert rows_of_every_table(target)["contacts"] == rows_of_every_table(database_url)["contacts"]


def test_restore_refuses_a_database_that_holds_data(app, talk, database_url, tmp_path):
    populate(app, talk)
    assert cli(app, "backup", "--out", tmp_path).exit_code == 0
    [path] = tmp_path.glob("chaski-*")
    db = Database(database_url)
    before = data_tables(db)
    refused = cli(app, "restore", path)
    assert refused.exit_code == 2 and "not empty" in refused.output and "no está vacía" in refused.output
    assert data_tables(db) == before
    db.dispose()


def test_a_backup_of_the_wrong_kind_is_refused(app, database_url, tmp_path):
    wrong = tmp_path / ("chaski-x.dump" if database_url.startswith("sqlite") else "chaski-x.sqlite")
    wrong.write_bytes(b"not a backup")
    target = empty_target(database_url, tmp_path)
    refused = cli(make_app(target), "restore", wrong)
    assert refused.exit_code == 2 and "is not a" in refused.output


def test_a_failed_backup_leaves_no_file(tmp_path):
    with pytest.raises(BackupError, match="pg_dump failed"):
        backup("postgresql+psycopg://postgres@127.0.0.1:1/nowhere", tmp_path, utcnow())
    assert list(tmp_path.iterdir()) == []

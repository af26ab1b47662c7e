"""Alembic migrations: the schema they build is the models' schema, and they go both ways."""
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from bot.db import alembic_config, include_object, migrate
from models import Base


def test_migrations_match_the_models_and_downgrade(tmp_path):
    url = f"sqlite:///{tmp_path / 'm.sqlite'}"
    migrate(url)
    engine = create_engine(url)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn, opts={"include_object": include_object}),
                                Base.metadata) == []
    command.downgrade(alembic_config(url), "base")
    assert set(inspect(engine).get_table_names()) == {"alembic_version"}
    migrate(url)
    assert {"contacts", "messages", "conversation_states", "handoff_requests"} <= set(
        inspect(engine).get_table_names())
    engine.dispose()


def test_migrated_schema_matches_the_models(database_url):
    engine = create_engine(database_url)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn, opts={"include_object": include_object}),
                                Base.metadata) == []
    engine.dispose()

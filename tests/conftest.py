"""Shared fixtures: databases (SQLite and PostgreSQL), the app, fakes, the Rasa server."""
from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
from sqlalchemy import text

from bot import clock as app_clock
from bot import create_app
from bot.db import Database, reset_schema
from bot.conversations.engine import Inbound
from bot.services import services
from models import Base
from tests.fakes.guard import block_real_twilio, fake_twilio  # noqa: F401 - fixture
from tests.fakes.signing import FAKE_PHONE
from tests.fakes.twilio_api import FAKE_ACCOUNT_SID, FAKE_AUTH_TOKEN

OUTPUT_DIR = Path(__file__).resolve().parent.parent / "test-output"
# The suite's Rasa server runs as production does, behind a token (rasa run --auth-token).
SUITE_NLU_TOKEN = "chaski-suite-nlu-token"


@pytest.fixture(autouse=True)
def _no_real_twilio(monkeypatch):
    block_real_twilio(monkeypatch)


@pytest.fixture
def clock():
    """Return bot.clock.set_now, for a test that needs a fixed date; the clock is reset after."""
    yield app_clock.set_now
    app_clock.reset()


def closed_port_url() -> str:
    """Return a URL on 127.0.0.1 where nothing listens (an NLU server that is down)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request, tmp_path_factory) -> str:
    """Yield a migrated database: SQLite always, PostgreSQL when TEST_DATABASE_URL is set."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'chaski.sqlite'}"
    else:
        url = os.environ.get("TEST_DATABASE_URL")
        if not url:
            pytest.skip("TEST_DATABASE_URL is not set: PostgreSQL tests skipped")
    reset_schema(url)
    return url


def _empty_tables(db: Database) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with db.engine.begin() as conn:
        if db.engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(text(f"DELETE FROM {table}"))


def make_app(database_url: str, **overrides):
    settings = {
        "DATABASE_URL": database_url,
        "TWILIO_ACCOUNT_SID": FAKE_ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": FAKE_AUTH_TOKEN,
        "NLU_URL": closed_port_url(),
        "SECRET_KEY": "test-secret",
        "TESTING": True,
    }
    settings.update(overrides)
    return create_app(settings)


@pytest.fixture
def app(database_url):
    """Yield an app on an empty database, with the NLU server down (rules only)."""
    app = make_app(database_url)
    _empty_tables(services(app).db)
    yield app
    services(app).db.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def db(app) -> Database:
    return services(app).db


@pytest.fixture
def talk(app):
    """Return talk(text, phone=FAKE_PHONE, channel="sms") -> list of replies, via the engine."""
    engine = services(app).engine

    def _talk(body: str, phone: str = FAKE_PHONE, channel: str = "sms", **kw):
        return engine.handle(Inbound(address=phone, body=body, channel=channel, **kw)).replies

    return _talk


@pytest.fixture(scope="session")
def rasa_url():
    """Start the real Rasa server once per session (training first if needed), behind
    SUITE_NLU_TOKEN; NLU_TOKEN is set for the session, so every app and client sends it."""
    from nlu.runtime import train
    from nlu.server import RasaServer

    model = train()
    OUTPUT_DIR.mkdir(exist_ok=True)
    server = RasaServer(model=model, log_path=OUTPUT_DIR / "rasa-server.log",
                        auth_token=SUITE_NLU_TOKEN)
    server.start()
    env = pytest.MonkeyPatch()
    env.setenv("NLU_TOKEN", SUITE_NLU_TOKEN)
    try:
        server.wait_ready()
        yield server.url
    finally:
        env.undo()
        server.stop()

"""CHASKI_ENV=production: refuse to start without what a real service needs, one line each;
never generate a secret; never load the demo."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot import create_app, settings as settings_mod
from bot.services import services
from bot.settings import NotReadyForProduction, from_env, production_problems
from models import DatabaseMark
from tests.conftest import closed_port_url, make_app

ROOT = Path(__file__).resolve().parent.parent
NEEDED = ("DATABASE_URL", "SECRET_KEY", "TWILIO_AUTH_TOKEN", "PUBLIC_URL", "NLU_TOKEN")
READY = {"PUBLIC_URL": "https://chaski.example.org", "NLU_TOKEN": "nlu-test-token",
         "CHASKI_ENV": "production"}


def bare_env(**extra) -> dict[str, str]:
    """The environment without any setting production needs (and no Twilio at all)."""
    env = {k: v for k, v in os.environ.items()
           if k not in NEEDED and not k.startswith(("TWILIO_", "NLU_", "CHASKI_"))}
    env.update(NLU_URL=closed_port_url(), **extra)
    return env


def test_every_missing_setting_gets_its_own_line(monkeypatch):
    for name in NEEDED:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CHASKI_ENV", "production")
    monkeypatch.setattr(settings_mod, "load_secret_key",
                        lambda *a: pytest.fail("production generated a secret"))
    with pytest.raises(NotReadyForProduction) as refused:
        create_app()
    lines = str(refused.value).splitlines()
    assert len(lines) == len(NEEDED)
    for name, line in zip(NEEDED, lines):
        assert line.startswith(f"CHASKI_ENV=production: {name} ")


def test_sqlite_is_not_a_production_database():
    settings = from_env({"CHASKI_ENV": "production", "DATABASE_URL": "sqlite:////tmp/x.sqlite",
                         "SECRET_KEY": "k", "TWILIO_AUTH_TOKEN": "t", "PUBLIC_URL": "https://x.org",
                         "NLU_TOKEN": "n"})
    assert production_problems(settings) == [
        "CHASKI_ENV=production: DATABASE_URL must be PostgreSQL (postgresql://...), not sqlite"]
    assert production_problems(from_env({})) == []  # development needs nothing
    assert production_problems(from_env({"CHASKI_ENV": "development"})) == []


def test_the_cli_refuses_with_the_lines_and_no_traceback(tmp_path):
    proc = subprocess.run([str(ROOT / ".venv/bin/flask"), "--app", "server", "migrate"], cwd=ROOT,
                          env=bare_env(CHASKI_ENV="production", SECRET_KEY="k",
                                       DATABASE_URL=f"sqlite:///{tmp_path / 'x.sqlite'}"),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 3
    assert proc.stderr.splitlines() == [
        "CHASKI_ENV=production: DATABASE_URL must be PostgreSQL (postgresql://...), not sqlite",
        "CHASKI_ENV=production: TWILIO_AUTH_TOKEN is not set (checks X-Twilio-Signature on "
        "every webhook)",
        "CHASKI_ENV=production: PUBLIC_URL is not set (the https:// base URL Twilio calls)",
        "CHASKI_ENV=production: NLU_TOKEN is not set (the Rasa server's --auth-token)",
    ]
    assert not (tmp_path / "x.sqlite").exists()  # nothing was opened


def test_gunicorn_stops_instead_of_respawning_workers(tmp_path):
    proc = subprocess.run([str(ROOT / ".venv/bin/gunicorn"), "-c", "deploy/gunicorn.conf.py",
                           "server:app"], cwd=ROOT,
                          env=bare_env(CHASKI_ENV="production", WEB_BIND="127.0.0.1:0"),
                          capture_output=True, text=True, timeout=60)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, output  # it halted (the 60 s timeout would catch a respawn loop)
    assert "CHASKI_ENV=production: SECRET_KEY is not set" in output
    assert "Worker failed to boot" in output


def test_a_ready_production_app_starts_and_never_loads_the_demo(database_url, monkeypatch):
    if not database_url.startswith("postgresql"):
        pytest.skip("production runs on PostgreSQL only")
    monkeypatch.setattr(settings_mod, "load_secret_key",
                        lambda *a: pytest.fail("production generated a secret"))
    app = make_app(database_url, **READY)
    assert app.config["SECRET_KEY"] == "test-secret"
    from tests.conftest import _empty_tables
    _empty_tables(services(app).db)
    result = app.test_cli_runner().invoke(args=["load-demo"])
    assert result.exit_code == 2
    assert "CHASKI_ENV=production: the demo data is never loaded here" in result.output
    with services(app).db.session() as s:
        assert s.scalar(select(func.count()).select_from(DatabaseMark)) == 0

"""The two baselines of bench/webhook_throughput.py, as gunicorn apps (``wsgi_apps:bare()``).

bare   a Flask endpoint that returns fixed TwiML: what Flask and gunicorn cost.
floor  the least durable work a webhook can do: validate the Twilio signature, INSERT the
       inbound row with ON CONFLICT on its MessageSid, commit, answer fixed TwiML.
Both read BENCH_DATABASE_URL and BENCH_AUTH_TOKEN from the environment.
"""
from __future__ import annotations

import os

from flask import Flask, Response, abort, request
from sqlalchemy import text
from twilio.request_validator import RequestValidator

from bot.db import make_engine

FIXED = '<?xml version="1.0" encoding="UTF-8"?><Response><Message>hola</Message></Response>'
FLOOR_TABLE = "bench_floor_inbound"


def bare() -> Flask:
    """Return the app that answers fixed TwiML and does nothing else."""
    app = Flask("bare")
    app.add_url_rule("/webhooks/twilio", "bare", lambda: Response(FIXED, mimetype="application/xml"),
                     methods=["POST"])
    return app


def create_floor_table(engine) -> None:
    """(Re)create the floor's one table: inbound rows keyed by a unique MessageSid."""
    serial = "SERIAL" if engine.dialect.name == "postgresql" else "INTEGER"
    with engine.begin() as conn:
        conn.execute(text(f"DROP TABLE IF EXISTS {FLOOR_TABLE}"))
        conn.execute(text(f"CREATE TABLE {FLOOR_TABLE} (id {serial} PRIMARY KEY, "
                          "message_sid VARCHAR(64) NOT NULL UNIQUE, sender VARCHAR(40), body TEXT)"))


def drop_floor_table(engine) -> None:
    """Remove the floor's table (the database is left with Chaski's tables only)."""
    with engine.begin() as conn:
        conn.execute(text(f"DROP TABLE IF EXISTS {FLOOR_TABLE}"))


def floor() -> Flask:
    """Return the durable-floor app (see the module docstring)."""
    engine = make_engine(os.environ["BENCH_DATABASE_URL"])
    validator = RequestValidator(os.environ["BENCH_AUTH_TOKEN"])
    insert = text(f"INSERT INTO {FLOOR_TABLE} (message_sid, sender, body) VALUES (:sid, :sender, :body) "
                  "ON CONFLICT (message_sid) DO NOTHING")
    app = Flask("floor")

    @app.post("/webhooks/twilio")
    def inbound():
        form = request.form
        if not validator.validate(request.url, form, request.headers.get("X-Twilio-Signature", "")):
            abort(403)
        with engine.begin() as conn:
            conn.execute(insert, {"sid": form["MessageSid"], "sender": form.get("From"),
                                  "body": form.get("Body")})
        return Response(FIXED, mimetype="application/xml")

    return app

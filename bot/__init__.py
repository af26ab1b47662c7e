"""Chaski: the Flask app factory. Each package wires itself in through its `init_app`."""
from __future__ import annotations

import logging

from flask import Flask
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from bot import settings as settings_mod

csrf = CSRFProtect()


def create_app(overrides: dict | None = None) -> Flask:
    """Build the app from the environment, with `overrides` (tests) on top."""
    # Imported here, not at the top: models import bot.clock, so importing any bot module
    # (which runs this file first) must not import the packages that import models.
    from bot import (channels, cli, console, conversations, health, knowledge, outbound,
                     proactive, services, surveys, training)
    from bot.channels import webhooks

    settings = settings_mod.from_env().with_overrides(overrides)
    if not settings.secret_key:
        settings = settings.with_overrides({"secret_key": settings_mod.load_secret_key()})
    app = Flask(__name__, instance_path=str(settings_mod.INSTANCE_DIR))
    app.config["SECRET_KEY"] = settings.secret_key
    app.config["CHASKI"] = settings
    app.config["TESTING"] = bool(settings.extra.get("TESTING"))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)  # `migrate` turns its progress back on
    # Behind one reverse proxy (X-Forwarded-Proto/Host) the signature is computed over
    # the public URL Twilio called; PUBLIC_URL overrides it entirely.
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1, x_port=1)

    services.init_app(app)
    csrf.init_app(app)
    csrf.exempt(webhooks.bp)  # Twilio cannot send a CSRF token: its webhooks check a signature
    for package in (channels, health, conversations, outbound, proactive, surveys, knowledge,
                    training, console, cli):
        package.init_app(app)
    return app

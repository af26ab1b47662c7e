"""Chaski: the Flask app factory. Each package wires itself in through its `init_app`."""
from __future__ import annotations

import logging

from flask import Flask
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from bot import settings as settings_mod

csrf = CSRFProtect()


# The pages have no scripts and no style attributes: only the console's own CSS file.
CONTENT_SECURITY_POLICY = ("default-src 'none'; style-src 'self'; img-src 'self' data:; "
                           "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


def _security_headers(settings: settings_mod.Settings):
    """Return an after_request hook adding the security headers to every response."""
    headers = {
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "same-origin",
    }
    if (settings.public_url or "").startswith("https://"):
        headers["Strict-Transport-Security"] = "max-age=31536000"

    def add(response):
        for name, value in headers.items():
            response.headers.setdefault(name, value)
        return response

    return add


def create_app(overrides: dict | None = None) -> Flask:
    """Build the app from the environment, with `overrides` (tests) on top."""
    # Imported here, not at the top: models import bot.clock, so importing any bot module
    # (which runs this file first) must not import the packages that import models.
    from bot import (channels, cli, console, conversations, health, knowledge, monitoring,
                     outbound, privacy, proactive, services, surveys, topics, training)
    from bot.channels import webhooks

    settings = settings_mod.from_env().with_overrides(overrides)
    problems = settings_mod.production_problems(settings)
    if problems:  # before anything is generated or opened
        raise settings_mod.NotReadyForProduction(problems)
    if not settings.secret_key:  # development only: production has refused above
        settings = settings.with_overrides({"secret_key": settings_mod.load_secret_key()})
    app = Flask(__name__, instance_path=str(settings_mod.INSTANCE_DIR))
    app.config["SECRET_KEY"] = settings.secret_key
    app.config["CHASKI"] = settings
    app.config["TESTING"] = bool(settings.extra.get("TESTING"))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)  # `migrate` turns its progress back on
    # X-Forwarded-* are believed only from the TRUSTED_PROXIES proxies in front (nginx: 1).
    # With none, a client could otherwise forge its address past the sign-in limit. The
    # webhook signature is checked over PUBLIC_URL, else the URL the proxies forwarded.
    if settings.trusted_proxies > 0:
        n = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_port=n)
    app.after_request(_security_headers(settings))

    services.init_app(app)
    csrf.init_app(app)
    csrf.exempt(webhooks.bp)  # Twilio cannot send a CSRF token: its webhooks check a signature
    for package in (channels, health, monitoring, conversations, outbound, proactive, surveys, knowledge,
                    topics, training, privacy, console, cli):
        package.init_app(app)
    return app

"""Proactive messages: audiences (segments), broadcasts, reminders, the weekly price
digest, monthly calendar tips and climate-alert pushes; they write outbox rows, never send."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register `broadcast`, `reminder` and `contact set-date`."""
    # Imported here, not at the top: the commands need bot.services, whose engine imports
    # this package's modules (a real import cycle otherwise).
    from bot.cli import add_commands
    from bot.proactive.cli import cli

    add_commands(app, cli)

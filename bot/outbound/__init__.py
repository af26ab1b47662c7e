"""Outbound: the outbox (every proactive message), the sender that sends it (rate
limits, retries, recovery after a crash) and policy.py, the one home of each sending rule."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register `outbox status` and `sender`."""
    # Imported here, not at the top: the commands need bot.services, whose engine imports
    # this package's modules (a real import cycle otherwise).
    from bot.cli import add_commands
    from bot.outbound.cli import cli

    add_commands(app, cli)

"""Conversations: the engine (one inbound message to replies, no Flask), the facts flows
may ask for, staff replies to hand-offs, the `chat` command and the expiry job."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the `chat` command."""
    # Imported here: the command module needs bot.services, whose engine lives in this package.
    from bot.conversations.cli import cli
    from bot.cli import add_commands

    add_commands(app, cli)

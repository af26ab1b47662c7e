"""Surveys: loading survey files, inviting a segment, reading answers (the conversation
itself is flows/survey.py), results and CSV export, the reminder job."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register `survey`."""
    # Imported here, not at the top: the commands need bot.services, whose engine imports
    # this package's modules (a real import cycle otherwise).
    from bot.cli import add_commands
    from bot.surveys.cli import cli

    add_commands(app, cli)

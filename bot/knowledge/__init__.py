"""Knowledge the bot answers from: the price-bulletin (CSV) and CAP climate-alert (XML)
importers and their commands."""
from __future__ import annotations

from flask import Flask

from bot.cli import add_commands
from bot.knowledge.cli import cli


def init_app(app: Flask) -> None:
    """Register `import-prices` and `import-alerts`."""
    add_commands(app, cli)

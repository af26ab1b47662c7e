"""Knowledge the bot answers from: the price-bulletin (CSV) and CAP climate-alert (XML)
importers and their commands, and the demo's sample data (demo.py, demo_data/)."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register `import-prices`, `import-alerts`, `alerts ...` and the feeds' /metrics gauges."""
    # Imported here, not at the top: the commands need bot.cli, which imports bot.knowledge.demo,
    # which imports this package's importers (a real import cycle otherwise).
    from bot.cli import add_commands
    from bot.knowledge import alerts_cli
    from bot.knowledge import feed_metrics  # noqa: F401 - registers the feeds' /metrics gauges
    from bot.knowledge.cli import cli

    add_commands(app, cli)
    add_commands(app, alerts_cli.cli)

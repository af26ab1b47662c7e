"""The knowledge base staff edit: the database working copy of the topics (drafts, four-eyes
publication, history), `knowledge export`/`import`, and the unanswered-questions inbox."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the `knowledge` command group."""
    from bot.topics.cli import cli

    app.cli.add_command(cli)

"""Training the NLU: export reviewed messages as Rasa data, retrain and keep the better
model, queued training runs. No Flask here, except the commands in cli.py."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register `nlu-classify`, `train-nlu`, `export-training` and `retrain-nlu`."""
    # Imported here, not at the top: the commands need bot.services, whose engine imports
    # this package's modules (a real import cycle otherwise).
    from bot.cli import add_commands
    from bot.training.cli import cli

    add_commands(app, cli)

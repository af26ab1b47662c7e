"""Privacy (Peru's law 29733, ARCO rights): what is stored about a contact, her erasure,
the suppression list that keeps STOP holding after it, and the retention job."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Add `contact show|export|erase` to the `contact` group (bot/proactive/cli.py)."""
    # Imported here: the commands need bot.services, whose engine imports this package.
    from bot.privacy import cli  # noqa: F401 - registers the commands on contact_group

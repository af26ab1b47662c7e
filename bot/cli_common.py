"""Pieces every CLI module shares: the migration check, NAME=VALUE options, audience options."""
from __future__ import annotations

import click

from bot.services import services


def require_migrated() -> None:
    """Stop with a clear message when the database has not been migrated yet."""
    from bot.db import is_migrated

    if not is_migrated(services().db):
        raise click.ClickException(
            "the database is not migrated: run `flask --app server migrate` (or `make run`)")


def pairs(values: tuple[str, ...], option: str) -> dict:
    """Turn ("es=hola", ...) into {"es": "hola"}; a missing '=' is a usage error."""
    result = {}
    for value in values:
        name, sep, text = value.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(f"expected NAME=VALUE, got {value!r}", param_hint=option)
        result[name.strip()] = text
    return result


# The audience (segment) options, worded once for broadcasts, reminders and surveys.
AUDIENCE_OPTIONS = {
    "region": click.option("--region", multiple=True,
                           help="Only contacts in this region (repeatable)."),
    "province": click.option("--province", multiple=True,
                             help="Only contacts in this province (repeatable)."),
    "language": click.option("--language", multiple=True,
                             help="Only contacts with this language (repeatable)."),
    "active_days": click.option("--active-days", type=int,
                                help="Only contacts who wrote in the last N days."),
    "crop": click.option("--crop", multiple=True,
                         help="Only contacts who grow or follow this product: its weekly prices, "
                              "or it among their crops (repeatable: any of them)."),
    "subscription": click.option("--subscription", "subscriptions", multiple=True,
                                 type=click.Choice(["prices", "alerts", "calendar"]),
                                 help="Only contacts with an active subscription of this kind "
                                      "(repeatable)."),
}


def audience_options(*keys: str):
    """Add the audience options `keys` to a command, in that order."""

    def decorate(command):
        for key in reversed(keys):
            command = AUDIENCE_OPTIONS[key](command)
        return command

    return decorate

"""`chat`: talk to the bot as a contact, through the same engine the webhook uses."""
from __future__ import annotations

import logging
import sys

import click
from flask.cli import AppGroup

from bot.cli import PHONE, needs_schema
from bot.conversations.engine import Inbound
from bot.services import services

cli = AppGroup("conversations", help="Conversation commands.")


@cli.command("chat")
@click.option("--phone", required=True, type=PHONE,
              help="Talk as this phone number, e.g. +51900000001 (fake).")
@click.option("--channel", type=click.Choice(["sms", "whatsapp"]), default="sms", show_default=True,
              help="Answer as on this channel: SMS replies are rewritten to GSM-7.")
@click.option("--verbose", is_flag=True, help="Show the app's log lines between the replies.")
@needs_schema
def chat_command(phone: str, channel: str, verbose: bool) -> None:
    """Talk to the bot as a contact: each stdin line is one inbound message."""
    if not verbose:
        logging.getLogger().setLevel(logging.ERROR)
    engine = services().engine
    if not services().nlu.is_ready():
        click.echo(f"note: no NLU server answers at {services().settings.nlu_url}: only menu "
                   "digits, STOP/ALTA and emergency words are understood (start it: make nlu)",
                   err=True)
    interactive = sys.stdin.isatty()
    if interactive:
        click.echo(f"Chaski chat as {phone} on {channel}. Ctrl-D to leave.", err=True)
    while True:
        if interactive:
            click.echo("> ", nl=False, err=True)
        line = sys.stdin.readline()
        if not line:
            break
        text = line.rstrip("\n")
        if not interactive:
            click.echo(f"> {text}")
        outcome = engine.handle(Inbound(address=phone, body=text, channel=channel))
        for reply, segments in zip(outcome.replies, outcome.segments):
            cost = f"  [{segments} SMS]" if channel == "sms" else ""
            click.echo(f"< {reply}{cost}")

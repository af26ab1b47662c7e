"""The console's command: `create-user` (a staff account)."""
from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from bot.cli import needs_schema
from bot.console.admin import create_user
from bot.services import services
from models import AuditLog

cli = AppGroup("console", help="Console commands.")


@cli.command("create-user")
@click.option("--email", required=True, help="The staff member's e-mail (their sign-in name).")
@click.option("--role", required=True, type=click.Choice(["admin", "coordinator", "reviewer",
                                                          "counsellor", "technician"]),
              help="counsellor is the only role that sees conversations about violence; "
                   "technician edits and publishes the knowledge base.")
@click.option("--password-stdin", is_flag=True,
              help="Read the password from the first line of stdin (for scripts).")
@needs_schema
def create_user_command(email: str, role: str, password_stdin: bool) -> None:
    """Create a staff account for the console (the password is prompted)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        with services().db.session() as session:
            user = create_user(session, email, role, password)
            session.add(AuditLog(user_id=user.id, email=user.email, action="user_create",
                                 target=f"user:{user.id}", detail={"role": role, "via": "cli"}))
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"created {user.email} ({user.role})")

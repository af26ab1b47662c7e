"""CLI for her data: `contact show|export|erase PHONE` (exit 1 "no such contact" without one)."""
from __future__ import annotations

import json

import click

from bot.cli import needs_schema
from bot.privacy import contacts, erasure
from bot.privacy.suppression import suppression_key
# `contact` is one group: staff's `contact set-date` lives in bot/proactive/cli.py.
from bot.proactive.cli import contact_group
from bot.services import services
from models import utcnow


def _or_exit(phone: str, use):
    """Run `use(session, contact)` for the contact with this number, or exit 1."""
    with services().db.session() as session:
        try:
            contact = contacts.find(session, phone)
        except contacts.NoSuchContact as exc:
            click.echo(str(exc), err=True)
            raise SystemExit(1) from None
        return use(session, contact)


@contact_group.command("show")
@click.argument("phone")
@needs_schema
def contact_show(phone: str) -> None:
    """Print what MIS DATOS would tell this contact: profile, consent, subscriptions, messages."""
    def show(session, contact):
        data = contacts.export(session, contact)
        brief = contacts.summary(session, contact)
        click.echo(f"telefono: {data['phone']}")
        click.echo(f"idioma: {data['language']}  region: {data['region'] or '-'}  "
                   f"provincia: {data['province'] or '-'}  canales: {', '.join(data['channels'])}")
        consent = data["consent"]
        click.echo(f"permiso: {consent['at'] or '-'} ({consent['channel'] or '-'}, texto "
                   f"{consent['text_version'] or '-'})  baja: {data['opted_out_at'] or '-'}")
        click.echo(f"suscripciones: {', '.join(brief['subscriptions']) or '-'}")
        click.echo(f"encuestas: {len(data['survey_participations'])}  mensajes guardados: "
                   f"{brief['messages']} de {len(data['messages'])}  envios: "
                   f"{len(data['deliveries'])}")
    _or_exit(phone, show)


@contact_group.command("export")
@click.argument("phone")
@needs_schema
def contact_export(phone: str) -> None:
    """Print everything stored about this contact as one JSON document."""
    data = _or_exit(phone, contacts.export)
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


@contact_group.command("erase")
@click.argument("phone")
@click.option("--yes", is_flag=True, help="confirm: erasing cannot be undone")
@needs_schema
def contact_erase(phone: str, yes: bool) -> None:
    """Erase this contact in one transaction (her number never reaches the audit log)."""
    if not yes:
        raise click.UsageError("erasing cannot be undone: add --yes")
    key = suppression_key(services().settings)

    def erase(session, contact):
        return erasure.erase(session, contact, utcnow(), key, by="cli")
    counts = _or_exit(phone, erase)
    click.echo("contacto borrado: " + ", ".join(f"{k} {v}" for k, v in counts.items()))

"""`alerts ...` commands: CAP feeds (add, list, remove, poll) and the review queue."""
from __future__ import annotations

from datetime import timedelta

import click
from flask.cli import AppGroup

from bot.cli import needs_schema
from bot.clock import LIMA
from bot.knowledge import feeds, review
from bot.services import services
from models import AlertFeed, utcnow
from models.feeds import MODES

cli = AppGroup("alerts-commands", help="CAP feeds and the alert review queue.")


@cli.group("alerts")
def alerts_group() -> None:
    """CAP feeds and climate alerts awaiting review before they are pushed."""


@alerts_group.group("feed")
def feed_group() -> None:
    """Manage the CAP feeds the scheduler polls."""


@feed_group.command("add")
@click.argument("url")
@click.option("--name", help="A name staff will recognise (default: the URL).")
@click.option("--mode", type=click.Choice(MODES), default="auto", show_default=True,
              help="auto: pushes go out on import; manual: a coordinator approves each alert.")
@needs_schema
def feed_add(url: str, name: str | None, mode: str) -> None:
    """Add a CAP feed (Atom/RSS of alerts, an index linking to CAP files, or one CAP file)."""
    try:
        with services().db.session() as s:
            feed = feeds.add_feed(s, url, name, mode)
            click.echo(f"feed {feed.id} added: {feed.name} ({feed.mode}) {feed.url}")
    except feeds.FeedError as exc:
        raise click.ClickException(str(exc)) from exc


@feed_group.command("list")
@needs_schema
def feed_list() -> None:
    """List the feeds with the state of their last poll."""
    with services().db.session() as s:
        rows = feeds.feed_health(s)
    if not rows:
        click.echo("no feeds (add one with `alerts feed add URL`)")
    for f in rows:
        polled = f["last_polled_at"]
        when = polled.astimezone(LIMA).strftime("%Y-%m-%d %H:%M") if polled else "never"
        click.echo(f"{f['id']}\t{f['mode']}\t{f['status']}\tlast poll {when} (HTTP {f['last_status'] or '-'})"
                   f"\t{f['name']}\t{f['url']}")
        if f["last_error"]:
            click.echo(f"\tlast error: {f['last_error'].splitlines()[0]}")


@feed_group.command("remove")
@click.argument("feed_id", type=int)
@needs_schema
def feed_remove(feed_id: int) -> None:
    """Remove feed ID (its alerts stay)."""
    with services().db.session() as s:
        feed = s.get(AlertFeed, feed_id)
        if feed is None:
            raise click.ClickException(f"no feed {feed_id}")
        s.delete(feed)
    click.echo(f"feed {feed_id} removed")


@alerts_group.command("poll")
@needs_schema
def poll() -> None:
    """Poll every feed once, now (back-off ignored), and print what each gave."""
    settings = services().settings
    with services().db.session() as s:
        feeds.seed_feeds(s, settings.alert_feeds)
        s.commit()
        results = feeds.poll_all(s, utcnow(), force=True,
                                 base=timedelta(minutes=settings.alert_poll_minutes))
    if not results:
        click.echo("no feeds (add one with `alerts feed add URL`)")
    for result in results:
        click.echo(result.line())


@alerts_group.command("list")
@click.option("--pending", is_flag=True, help="Only alerts waiting for review (pending or held).")
@needs_schema
def list_alerts(pending: bool) -> None:
    """List current, pending and expired alerts with their level, regions and validity."""
    now = utcnow()
    with services().db.session() as s:
        groups = review.alerts_by_group(s, now)
        for group in (["pending"] if pending else ["pending", "current", "expired"]):
            click.echo(f"== {group} ({len(groups[group])})")
            for alert in groups[group]:
                info = alert.infos[0] if alert.infos else None
                regions = sorted({r for i in alert.infos for a in i.areas for r in a.regions or []})
                ends = max((i.ends_at for i in alert.infos), default=alert.sent)
                click.echo(f"{alert.identifier}\t{alert.review}\t{info.level if info else '-'}\t"
                           f"{info.event if info else '-'}\t{','.join(regions) or 'sin región'}\t"
                           f"until {ends.astimezone(LIMA):%Y-%m-%d %H:%M}\t{alert.sender}")


@alerts_group.command("approve")
@click.argument("identifier")
@needs_schema
def approve(identifier: str) -> None:
    """Approve alert IDENTIFIER and queue its pushes now."""
    try:
        with services().db.session() as s:
            n = review.approve(s, review.find(s, identifier), utcnow())
    except review.ReviewError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{identifier}: approved, pushes queued {n}")


@alerts_group.command("hold")
@click.argument("identifier")
@needs_schema
def hold(identifier: str) -> None:
    """Hold pending alert IDENTIFIER: not pushed, not answered, until approved."""
    try:
        with services().db.session() as s:
            review.hold(s, review.find(s, identifier))
    except review.ReviewError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{identifier}: held")


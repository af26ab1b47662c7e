"""`alerts feed add|list|remove`, `alerts poll`, `alerts list|approve|hold`, `import-alerts URL`
and the scheduler's poll job, against the loopback feed server."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.jobs import JOBS
from bot.scheduler import TIMETABLE
from models import AlertFeed, OutboxMessage
from tests.fakes.feed_server import FeedServer, atom
from tests.fakes.outbox import add_contacts
from tests.fakes.outbox import app, db  # noqa: F401 - fixtures
from tests.fakes.topics import NOW, cli


@pytest.fixture
def feeds(clock):
    clock(NOW)
    server = FeedServer().start()
    yield server
    server.stop()


def outbox_count(db):
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(OutboxMessage))


def test_feed_commands_poll_and_the_review_queue(app, db, feeds):
    with db.session() as s:
        add_contacts(s, 2, region="puno")
    url = feeds.serve_file("/heladas.xml", "frost_red.xml", etag='"e1"')
    added = cli(app, "alerts", "feed", "add", url, "--name", "SENAMHI prueba", "--mode", "manual")
    assert added.exit_code == 0 and "feed 1 added: SENAMHI prueba (manual)" in added.output
    assert cli(app, "alerts", "feed", "add", url).exit_code == 1  # already there
    refused = cli(app, "alerts", "feed", "add", "file:///etc/passwd")
    assert refused.exit_code == 1 and "only http:// and https://" in refused.output
    polled = cli(app, "alerts", "poll")
    assert polled.exit_code == 0
    assert "SENAMHI prueba: imported (HTTP 200): entries 1, imported 1" in polled.output
    assert "pending review 1, pushes queued 0" in polled.output and outbox_count(db) == 0
    again = cli(app, "alerts", "poll")
    assert "SENAMHI prueba: not-modified (HTTP 304)" in again.output
    assert feeds.hits("/heladas.xml")[-1]["If-None-Match"] == '"e1"'
    listed = cli(app, "alerts", "feed", "list")
    assert "1\tmanual\tok\tlast poll" in listed.output and "(HTTP 304)" in listed.output
    pending = cli(app, "alerts", "list", "--pending")
    assert "== pending (1)" in pending.output
    assert "TEST-FEED-HELADA-1\tpending\trojo\tHeladas\tpuno" in pending.output
    assert "== current" not in pending.output
    held = cli(app, "alerts", "hold", "TEST-FEED-HELADA-1")
    assert held.exit_code == 0 and outbox_count(db) == 0
    assert "\theld\t" in cli(app, "alerts", "list").output
    approved = cli(app, "alerts", "approve", "TEST-FEED-HELADA-1")
    assert approved.exit_code == 0 and "approved, pushes queued 2" in approved.output
    assert outbox_count(db) == 2
    assert cli(app, "alerts", "approve", "TEST-FEED-HELADA-1").exit_code == 1
    assert cli(app, "alerts", "approve", "NO-SUCH").exit_code == 1
    assert cli(app, "alerts", "feed", "remove", "1").exit_code == 0
    assert cli(app, "alerts", "feed", "remove", "1").exit_code == 1
    assert "no feeds" in cli(app, "alerts", "feed", "list").output


def test_every_alerts_command_has_help(app):
    for args in (["alerts"], ["alerts", "feed"], ["alerts", "feed", "add"], ["alerts", "feed", "list"],
                 ["alerts", "feed", "remove"], ["alerts", "poll"], ["alerts", "list"],
                 ["alerts", "approve"], ["alerts", "hold"], ["import-alerts"]):
        result = cli(app, *args, "--help")
        assert result.exit_code == 0 and len(result.output.split("\n\n")[1].strip()) > 10, args


def test_import_alerts_fetches_a_url_and_follows_an_index(app, db, feeds):
    with db.session() as s:
        add_contacts(s, 1, region="puno")
    feeds.serve_file("/cap/1.xml", "frost_red.xml")
    index = feeds.serve("/index.atom", body=atom([("urn:1", "2026-11-22T14:00:00Z", "/cap/1.xml")]))
    result = cli(app, "import-alerts", index)
    assert result.exit_code == 0, result.output
    assert "index.atom: imported 1, unchanged 0" in result.output and "pushes queued 1" in result.output
    broken = cli(app, "import-alerts", feeds.serve("/oops", status=500))
    assert broken.exit_code == 1 and "HTTP 500" in broken.output


def test_the_scheduler_polls_the_feeds_of_alert_feeds_every_alert_poll_minutes(app, db, feeds, monkeypatch):
    url = feeds.serve_file("/heladas.xml", "frost_red.xml")
    monkeypatch.setenv("ALERT_FEEDS", f"{url} {feeds.url('/missing.xml')}")
    assert TIMETABLE["poll-alert-feeds"] == ("poll_alert_feeds", "interval", {"minutes": 5})
    with db.session() as s:
        counts = JOBS["poll_alert_feeds"](s, NOW)
    assert counts == {"feeds": 2, "added": 2, "failed": 1, "imported": 1, "pending": 0, "pushes": 0}
    with db.session() as s:
        assert {f.mode for f in s.scalars(select(AlertFeed))} == {"auto"}
        counts = JOBS["poll_alert_feeds"](s, NOW)
    assert (counts["added"], counts["feeds"]) == (0, 1)  # the failing one waits (back-off)

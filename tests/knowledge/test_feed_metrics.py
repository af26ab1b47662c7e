"""The feeds' gauges on /metrics: a failing feed shows its failures and error; a good one its poll."""
from __future__ import annotations

from datetime import timedelta

from bot.knowledge import feed_metrics
from bot.knowledge.feeds import poll_all
from bot.monitoring.collectors import SOURCES, DatabaseCollector
from tests.fakes.feed_server import FeedServer
from tests.fakes.outbox import app, db  # noqa: F401 - fixtures
from tests.fakes.topics import NOW
from tests.knowledge.test_feeds import FAST, new_feed, puno_people


def gauges(db, now) -> dict[tuple, float]:
    found = {}
    for family in DatabaseCollector(db, now=lambda: now).collect():
        for sample in family.samples:
            found[(sample.name, sample.labels.get("feed"))] = sample.value
    return found


def test_each_feed_shows_its_last_poll_failures_and_last_error(app, db):
    server = FeedServer().start()
    try:
        puno_people(db, 1)
        broken = new_feed(db, server.serve("/broken", body=b"oops", status=500))
        server.serve_file("/ok.xml", "frost_red.xml")
        good = new_feed(db, server.url("/ok.xml"))
        assert feed_metrics.feed_gauges in SOURCES.values()
        before = gauges(db, NOW)
        assert before[("chaski_alert_feed_last_poll_age_seconds", str(good))] == float("inf")
        with db.session() as s:
            poll_all(s, NOW, FAST)
        found = gauges(db, NOW + timedelta(seconds=90))
    finally:
        server.stop()
    assert found[("chaski_alert_feed_last_poll_age_seconds", str(good))] == 90
    assert found[("chaski_alert_feed_failures", str(good))] == 0
    assert found[("chaski_alert_feed_last_http_status", str(good))] == 200
    assert found[("chaski_alert_feed_last_error_timestamp_seconds", str(good))] == 0
    assert found[("chaski_alert_feed_failures", str(broken))] == 1
    assert found[("chaski_alert_feed_last_http_status", str(broken))] == 500
    assert found[("chaski_alert_feed_last_error_timestamp_seconds", str(broken))] == NOW.timestamp()

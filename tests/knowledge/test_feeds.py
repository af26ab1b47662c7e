"""CAP feed polling against a real loopback feed server: indexes, embedded alerts, conditional
GET, Update/Cancel across polls, bad documents, and every way a feed misbehaves."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from bot.conversations.facts import Facts
from bot.knowledge import review
from bot.knowledge.feeds import add_feed, feed_health, poll_all
from bot.knowledge.fetch import Fetcher
from models import Alert, AlertFeed, FeedPoll, OutboxMessage
from tests.fakes.feed_server import FeedServer, atom, rss
from tests.fakes.outbox import add_contacts
from tests.fakes.outbox import app, db  # noqa: F401 - fixtures
from tests.fakes.topics import DATA, NOW, ask  # noqa: F401 - fixture

FAST = Fetcher(connect_timeout=1.0, read_timeout=0.5, total_seconds=2.0, max_bytes=200_000)
T0 = "2026-11-22T14:00:00Z"


@pytest.fixture
def feeds():
    server = FeedServer().start()
    yield server
    server.stop()


def puno_people(db, n=3):
    with db.session() as s:
        return [c.id for c in add_contacts(s, n, region="puno")]


def poll(db, now=NOW, force=False):
    with db.session() as s:
        return poll_all(s, now, FAST, force=force)


def new_feed(db, url, mode="auto", name=None):
    with db.session() as s:
        return add_feed(s, url, name or url.rsplit("/", 1)[-1], mode).id


def queued(db, **where):
    with db.session() as s:
        query = select(OutboxMessage).order_by(OutboxMessage.contact_id)
        for name, value in where.items():
            query = query.where(getattr(OutboxMessage, name) == value)
        return s.scalars(query).all()


def polls(db, feed_id):
    with db.session() as s:
        return s.scalars(select(FeedPoll).where(FeedPoll.feed_id == feed_id).order_by(FeedPoll.id)).all()


def test_auto_feed_red_frost_is_queued_in_one_poll_then_conditional_get_imports_nothing(app, db, feeds):
    people = puno_people(db)
    feeds.serve_file("/cap/frost1.xml", "frost_red.xml")
    index = feeds.serve("/index.atom", body=atom([("urn:frost:1", T0, "/cap/frost1.xml")]),
                        etag='"v1"', last_modified="Sun, 22 Nov 2026 14:00:00 GMT")
    feed_id = new_feed(db, index)
    [result] = poll(db)
    assert (result.outcome, result.http_status, result.entries) == ("imported", 200, 1)
    assert (result.counts.imported, result.counts.pushes, result.counts.pending) == (1, 3, 0)
    rows = queued(db)
    assert [r.contact_id for r in rows] == people  # red: everyone in Puno, not only subscribers
    assert all(r.urgent and r.key.startswith("alert:TEST-FEED-HELADA-1:Alert:") for r in rows)
    assert rows[0].body.startswith("AVISO ROJO: Heladas en Puno.")

    [again] = poll(db, NOW + timedelta(minutes=5))
    headers = feeds.hits("/index.atom")[-1]
    assert headers["If-None-Match"] == '"v1"'
    assert headers["If-Modified-Since"] == "Sun, 22 Nov 2026 14:00:00 GMT"
    assert (again.outcome, again.http_status, again.counts.imported) == ("not-modified", 304, 0)
    assert len(feeds.hits("/cap/frost1.xml")) == 1 and len(queued(db)) == 3
    assert [p.outcome for p in polls(db, feed_id)] == ["imported", "not-modified"]


def test_update_and_cancel_in_later_polls_supersede_and_inform_those_sent(app, db, feeds):
    people = puno_people(db)
    feeds.serve_file("/cap/1.xml", "frost_red.xml")
    feeds.serve_file("/cap/2.xml", "frost_red_update.xml")
    feeds.serve_file("/cap/3.xml", "frost_red_cancel.xml")
    entries = [("urn:frost:1", T0, "/cap/1.xml")]
    index = feeds.serve("/index.atom", body=atom(entries), etag='"v1"')
    new_feed(db, index)
    poll(db)
    with db.session() as s:  # the sender delivered the first warning to the first two people
        s.execute(update(OutboxMessage).where(OutboxMessage.contact_id.in_(people[:2])).values(status="sent"))
    entries.append(("urn:frost:2", "2026-11-22T16:00:00Z", "/cap/2.xml"))
    feeds.serve("/index.atom", body=atom(entries), etag='"v2"')
    [second] = poll(db, NOW + timedelta(minutes=5))
    assert (second.counts.imported, second.counts.superseded) == (1, 1)
    assert len(feeds.hits("/cap/1.xml")) == 1  # seen entry: its document is not fetched again
    assert len(queued(db, status="canceled")) == 1  # the unsent first warning is replaced
    with db.session() as s:
        s.execute(update(OutboxMessage).where(OutboxMessage.key.like("alert:TEST-FEED-HELADA-2:%"))
                  .values(status="delivered"))
    entries.append(("urn:frost:3", "2026-11-22T17:00:00Z", "/cap/3.xml"))
    feeds.serve("/index.atom", body=atom(entries), etag='"v3"')
    [third] = poll(db, NOW + timedelta(minutes=10))
    assert third.counts.cancelled == 1
    cancels = [r for r in queued(db) if ":Cancel:" in r.key]
    assert sorted(r.contact_id for r in cancels) == people
    assert cancels[0].body.startswith("CANCELADO")
    with db.session() as s:
        assert Facts(s, NOW + timedelta(minutes=10)).active_alerts("puno") == []


def test_rss_with_embedded_alerts_and_a_malformed_document_among_good_ones(app, db, feeds):
    puno_people(db, 2)
    feeds.serve("/alerts.rss", body=rss(["frost_red.xml", "oasis_a2_thunderstorm.xml"]))
    feed_rss = new_feed(db, feeds.url("/alerts.rss"))
    feeds.serve_file("/cap/good.xml", "frost_red_update.xml")
    feeds.serve("/cap/bad.xml", body=(DATA / "cap_malformed.xml").read_bytes())
    feeds.serve("/mixed.atom",
                body=atom([("urn:bad", T0, "/cap/bad.xml"), ("urn:good", T0, "/cap/good.xml")]))
    feed_mixed = new_feed(db, feeds.url("/mixed.atom"))
    by_feed = {r.feed_id: r for r in poll(db)}
    embedded, mixed = by_feed[feed_rss], by_feed[feed_mixed]
    assert (embedded.entries, embedded.counts.imported, embedded.counts.pending) == (2, 2, 1)
    assert (mixed.counts.imported, mixed.failed) == (1, 1)
    assert "bad.xml: malformed XML" in mixed.errors[0]
    assert polls(db, feed_mixed)[0].error.startswith(mixed.errors[0])
    with db.session() as s:  # the California thunderstorm maps to no region of ours: waits
        storm = s.scalar(select(Alert).where(Alert.identifier == "KSTO1055887203"))
        assert (storm.review, storm.feed_id) == ("pending", feed_rss)
    # the bad document is not marked seen: tried again next poll, the good one is not
    poll(db, NOW + timedelta(minutes=5))
    assert (len(feeds.hits("/cap/bad.xml")), len(feeds.hits("/cap/good.xml"))) == (2, 1)


@pytest.mark.parametrize("misbehaviour, expected", [
    ({"body": b"<feed/>", "delay": 1.5}, "time-out"),
    ({"body": b"oops", "status": 500}, "HTTP 500"),
    ({"body": b"<x>" + b"a" * 300_000 + b"</x>"}, "over the limit"),
    ({"status": 302, "location": "/broken"}, "redirects"),
])
def test_a_failing_feed_is_recorded_and_backs_off_without_blocking_the_others(
        app, db, feeds, misbehaviour, expected):
    puno_people(db, 1)
    broken = new_feed(db, feeds.serve("/broken", **misbehaviour))
    feeds.serve_file("/ok.xml", "frost_red.xml")
    good = new_feed(db, feeds.url("/ok.xml"))
    results = {r.feed_id: r for r in poll(db)}
    assert results[good].counts.pushes == 1
    assert results[broken].outcome == "failed" and expected in results[broken].errors[0]
    with db.session() as s:
        feed = s.get(AlertFeed, broken)
        assert (feed.status, feed.failures, feed.next_poll_at) == ("failing", 1, NOW + timedelta(minutes=5))
    assert [r.feed_id for r in poll(db, NOW + timedelta(minutes=1))] == [good]  # still waiting
    poll(db, NOW + timedelta(minutes=6))
    with db.session() as s:
        feed = s.get(AlertFeed, broken)
        assert (feed.failures, feed.next_poll_at) == (2, NOW + timedelta(minutes=16))  # doubled
        health = {h["id"]: h for h in feed_health(s)}
    assert expected in health[broken]["last_error"] and health[good]["last_error"] is None


def test_manual_feed_queues_nothing_until_approved_and_the_bot_says_not_confirmed(app, db, feeds):
    puno_people(db, 4)
    feed_id = new_feed(db, feeds.serve_file("/one.xml", "frost_red.xml"), mode="manual")
    [result] = poll(db)
    assert (result.counts.imported, result.counts.pending, result.counts.pushes) == (1, 1, 0)
    assert queued(db) == []
    with db.session() as s:
        [view] = Facts(s, NOW).active_alerts("puno")
        assert view.confirmed is False
        alert = review.find(s, "TEST-FEED-HELADA-1")
        assert alert.feed_id == feed_id
    counted = review.preview(db, alert.id, NOW)
    assert counted == {"sms": 4, "whatsapp": 0} and queued(db) == []  # the preview wrote nothing
    with db.session() as s:
        assert review.approve(s, review.find(s, "TEST-FEED-HELADA-1"), NOW) == 4
        with pytest.raises(review.ReviewError):
            review.approve(s, review.find(s, "TEST-FEED-HELADA-1"), NOW)
    assert len(queued(db)) == 4
    with db.session() as s:
        assert Facts(s, NOW).active_alerts("puno")[0].confirmed is True


def test_a_manual_feeds_cancel_reaches_those_sent_at_once(app, db, feeds):
    people = puno_people(db, 2)
    feeds.serve_file("/cap/2.xml", "frost_red_update.xml")
    feeds.serve_file("/cap/3.xml", "frost_red_cancel.xml")
    entries = [("urn:frost:2", T0, "/cap/2.xml")]
    new_feed(db, feeds.serve("/index.atom", body=atom(entries)), mode="manual")
    poll(db)
    with db.session() as s:
        assert review.approve(s, review.find(s, "TEST-FEED-HELADA-2"), NOW) == 2
        s.execute(update(OutboxMessage).values(status="delivered"))
    entries.append(("urn:frost:3", T0, "/cap/3.xml"))
    feeds.serve("/index.atom", body=atom(entries))
    [result] = poll(db, NOW + timedelta(minutes=5))
    assert (result.counts.cancelled, result.counts.pending, result.counts.pushes) == (1, 0, 2)
    assert sorted(r.contact_id for r in queued(db) if ":Cancel:" in r.key) == people


def test_the_bot_answers_a_pending_alert_marked_not_confirmed(app, db, feeds, ask):
    new_feed(db, feeds.serve_file("/one.xml", "frost_red.xml"), mode="manual")
    poll(db)
    reply = ask("alerta en puno", "ask_climate", location="puno")[0]
    assert reply.startswith("AVISO ROJO: Heladas en Puno.")
    assert "AUN SIN CONFIRMAR: el equipo lo revisa." in reply and queued(db) == []
    with db.session() as s:
        review.approve(s, review.find(s, "TEST-FEED-HELADA-1"), NOW)
    confirmed = ask("y en puno?", "ask_climate", location="puno")[0]
    assert confirmed.startswith("AVISO ROJO") and "SIN CONFIRMAR" not in confirmed


def test_a_held_alert_is_neither_answered_nor_pushed(app, db, feeds):
    puno_people(db, 1)
    new_feed(db, feeds.serve_file("/one.xml", "frost_red.xml"), mode="manual")
    poll(db)
    with db.session() as s:
        review.hold(s, review.find(s, "TEST-FEED-HELADA-1"))
    with db.session() as s:
        assert Facts(s, NOW).active_alerts("puno") == []
        assert review.highest_levels(s, NOW) == {}
    assert queued(db) == []


def test_only_http_and_https_feeds_are_accepted(app, db):
    from bot.knowledge.feeds import FeedError
    for url in ("file:///etc/passwd", "ftp://example.org/x.xml", "gopher://x", "http://"):
        with db.session() as s, pytest.raises(FeedError, match="only http"):
            add_feed(s, url)

"""Poll CAP feeds: Atom/RSS feeds of alerts, indexes whose entries link to CAP files, or one file.

Each feed is polled in its own transactions, so one that fails or hangs never
holds up the others: a lease is taken and committed, the network is used with
no transaction open, then what it gave is imported and the poll recorded in one
more transaction. Linked documents are fetched only for entries not seen before
(by id and updated time). A feed that keeps failing waits longer and longer
(AlertFeed's docstring). Parsing is all-or-nothing per alert: a bad document or
<alert> is reported and skipped, the others import.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urljoin
from xml.etree.ElementTree import Element

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from bot.knowledge.alerts import (AlertFileError, AlertImport, _q, alert_elements, import_parsed,
                                  parse_each, parse_xml)
from bot.knowledge.fetch import FetchError, Fetcher, check_url
from models import AlertFeed, FeedPoll
from models.feeds import AUTO, FAILING, MANUAL, MODES, OK

log = logging.getLogger(__name__)
ATOM = "{http://www.w3.org/2005/Atom}"
LEASE = timedelta(minutes=10)
MAX_BACKOFF = timedelta(hours=6)
MAX_LINKED = 50  # linked documents fetched in one poll; the rest wait for the next
MAX_SEEN = 1000  # entry ids remembered per feed


class FeedError(Exception):
    """A feed cannot be added (bad URL, bad mode, already there)."""


@dataclass
class PollResult:
    """What one poll of one feed gave."""

    feed_id: int
    name: str
    outcome: str  # imported, unchanged, not-modified, failed, busy (another poll holds it)
    http_status: int | None = None
    entries: int = 0
    counts: AlertImport = field(default_factory=AlertImport)
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    def line(self) -> str:
        """Return one line for `alerts poll`."""
        c = self.counts
        text = (f"{self.name}: {self.outcome} (HTTP {self.http_status or '-'}): entries {self.entries}, "
                f"imported {c.imported}, unchanged {c.unchanged}, failed {self.failed}, "
                f"pending review {c.pending}, pushes queued {c.pushes}")
        return "\n".join([text, *(f"  error: {e}" for e in self.errors)])


def add_feed(session: Session, url: str, name: str | None = None, mode: str = AUTO) -> AlertFeed:
    """Store a new feed; raise FeedError for a bad URL or mode, or one already stored."""
    try:
        check_url(url.strip())
    except FetchError as exc:
        raise FeedError(str(exc)) from None
    if mode not in MODES:
        raise FeedError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    url = url.strip()
    if session.scalar(select(AlertFeed).where(AlertFeed.url == url)) is not None:
        raise FeedError(f"{url}: already a feed")
    feed = AlertFeed(name=(name or url)[:120], url=url, mode=mode, seen={})
    session.add(feed)
    session.flush()
    return feed


def seed_feeds(session: Session, urls: tuple[str, ...]) -> int:
    """Add each ALERT_FEEDS URL not stored yet as an auto feed; return how many were added."""
    added = 0
    for url in urls:
        if session.scalar(select(AlertFeed.id).where(AlertFeed.url == url)) is None:
            add_feed(session, url, mode=AUTO)
            added += 1
    return added


def feed_health(session: Session) -> list[dict]:
    """Return each feed's last poll and last error (for /metrics and the console)."""
    return [{"id": f.id, "name": f.name, "url": f.url, "mode": f.mode, "status": f.status,
             "failures": f.failures, "last_polled_at": f.last_polled_at, "last_status": f.last_status,
             "last_error": f.last_error, "last_error_at": f.last_error_at, "next_poll_at": f.next_poll_at}
            for f in session.scalars(select(AlertFeed).order_by(AlertFeed.id))]


def backoff(failures: int, base: timedelta) -> timedelta:
    """Return the wait after `failures` failed polls in a row: base, 2×, 4×... at most 6 h."""
    return min(base * (2 ** max(failures - 1, 0)), MAX_BACKOFF)


def poll_all(session: Session, now: datetime, fetcher: Fetcher | None = None, force: bool = False,
             base: timedelta = timedelta(minutes=5)) -> list[PollResult]:
    """Poll every feed that is due (every feed with `force`), each in its own transactions."""
    query = select(AlertFeed.id).order_by(AlertFeed.id)
    if not force:
        query = query.where(or_(AlertFeed.next_poll_at.is_(None), AlertFeed.next_poll_at <= now))
    ids = session.scalars(query).all()
    session.commit()
    return [poll_feed(session, feed_id, now, fetcher or Fetcher(), base) for feed_id in ids]


def poll_feed(session: Session, feed_id: int, now: datetime, fetcher: Fetcher,
              base: timedelta = timedelta(minutes=5)) -> PollResult:
    """Poll one feed: take its lease, fetch with no transaction open, import and record."""
    taken = session.execute(update(AlertFeed).where(
        AlertFeed.id == feed_id, or_(AlertFeed.polling_until.is_(None), AlertFeed.polling_until < now))
        .values(polling_until=now + LEASE)).rowcount
    feed = session.get(AlertFeed, feed_id)
    session.commit()
    if not taken:
        return PollResult(feed_id, feed.name if feed else str(feed_id), "busy")
    started = time.monotonic()
    result = PollResult(feed.id, feed.name, "failed")
    try:
        answer = fetcher.get(feed.url, feed.etag, feed.last_modified)
        result.http_status = answer.status
        documents = [] if answer.status == 304 else _documents(feed, answer, fetcher, result)
    except (FetchError, AlertFileError) as exc:
        result.http_status = getattr(exc, "status", None) or result.http_status
        result.errors.append(str(exc))
        _record(session, feed_id, now, result, time.monotonic() - started, base, answer=None)
        return result
    try:
        for source, alerts in documents:
            result.counts.add(import_parsed(session, alerts, source, now, manual=feed.mode == MANUAL,
                                            feed_id=feed.id))
    except Exception as exc:  # nothing of this poll is kept, but the poll is recorded
        session.rollback()
        result.counts = AlertImport()
        result.errors.append(f"import failed, nothing written: {type(exc).__name__}: {exc}"[:1000])
        _record(session, feed_id, now, result, time.monotonic() - started, base, answer=None)
        log.exception("feed %s: import failed", feed_id)
        return result
    if answer.status == 304:
        result.outcome = "not-modified"
    else:
        result.outcome = "imported" if result.counts.imported else "unchanged"
    _record(session, feed_id, now, result, time.monotonic() - started, base, answer=answer)
    return result


def _documents(feed: AlertFeed, answer, fetcher: Fetcher, result: PollResult) -> list[tuple[str, list]]:
    """Return (source name, parsed alerts) for the feed's own alerts and each new linked document."""
    root = parse_xml(answer.body, feed.url)
    entries = _entries(root)
    if entries is None:  # one CAP document (or something else: alert_elements says what)
        result.entries = 1
        alerts, errors = parse_each(alert_elements(root, feed.url), feed.url)
        result.failed += len(errors)
        result.errors += errors
        return [(feed.name, alerts)]
    result.entries = len(entries)
    documents = []
    seen = dict(feed.seen or {})
    fetched = 0
    for entry_id, updated, embedded, link in entries:
        if embedded:
            alerts, errors = parse_each(embedded, feed.url)
            result.failed += len(errors)
            result.errors += errors
            documents.append((feed.name, alerts))
            continue
        if not link or seen.get(entry_id) == updated:
            continue
        if fetched >= MAX_LINKED:
            break
        fetched += 1
        url = urljoin(answer.url, link)
        try:
            doc = fetcher.get(url)
            root_doc = parse_xml(doc.body, url)
            alerts, errors = parse_each(alert_elements(root_doc, url), url)
        except (FetchError, AlertFileError) as exc:
            result.failed += 1
            result.errors.append(str(exc))
            continue  # not marked seen: tried again next poll
        result.failed += len(errors)
        result.errors += errors
        documents.append((url.rsplit("/", 1)[-1] or feed.name, alerts))
        seen[entry_id] = updated
    feed.seen = dict(list(seen.items())[-MAX_SEEN:])
    return documents


def _entries(root: Element) -> list[tuple] | None:
    """Return (id, updated, embedded alerts, link) per Atom entry or RSS item; None if not a feed."""
    if root.tag == f"{ATOM}feed":
        found = []
        for entry in root.findall(f"{ATOM}entry"):
            links = entry.findall(f"{ATOM}link")
            cap = [ln for ln in links if "cap" in (ln.get("type") or "")]
            alternate = [ln for ln in links if (ln.get("rel") or "alternate") == "alternate"]
            link = (cap or alternate or links or [None])[0]
            found.append((_child(entry, f"{ATOM}id") or (link.get("href") if link is not None else ""),
                          _child(entry, f"{ATOM}updated") or _child(entry, f"{ATOM}published"),
                          list(entry.iter(_q("alert"))), link.get("href") if link is not None else None))
        return found
    channel = root.find("channel") if root.tag == "rss" else None
    if channel is None:
        return None
    found = []
    for item in channel.findall("item"):
        enclosure = item.find("enclosure")
        link = (enclosure.get("url") if enclosure is not None else None) or _child(item, "link")
        found.append((_child(item, "guid") or link or "", _child(item, "pubDate"),
                      list(item.iter(_q("alert"))), link))
    return found


def _child(el: Element, tag: str) -> str:
    child = el.find(tag)
    return (child.text or "").strip() if child is not None else ""


def _record(session: Session, feed_id: int, now: datetime, result: PollResult, seconds: float,
            base: timedelta, answer) -> None:
    """Store the poll, the feed's new state and release its lease, in the import's transaction."""
    feed = session.get(AlertFeed, feed_id)
    failed = result.outcome == "failed"
    feed.last_polled_at, feed.last_status, feed.polling_until = now, result.http_status, None
    if failed:
        feed.failures += 1
        feed.status = FAILING
        feed.next_poll_at = now + backoff(feed.failures, base)
    else:
        feed.failures, feed.status, feed.next_poll_at = 0, OK, None
        if answer is not None and answer.status == 200:
            feed.etag, feed.last_modified = answer.etag, answer.last_modified
    if result.errors:
        feed.last_error, feed.last_error_at = "\n".join(result.errors)[:4000], now
    c = result.counts
    session.add(FeedPoll(feed_id=feed_id, polled_at=now, millis=round(seconds * 1000),
                         http_status=result.http_status, outcome=result.outcome, entries=result.entries,
                         imported=c.imported, unchanged=c.unchanged, failed=result.failed,
                         pushes=c.pushes, error="\n".join(result.errors)[:4000] or None))
    session.commit()


def read_url(url: str, fetcher: Fetcher | None = None) -> list[dict]:
    """Fetch `url` and parse every alert in it, following an index's links (all or nothing)."""
    fetcher = fetcher or Fetcher()
    answer = fetcher.get(check_url(url))
    root = parse_xml(answer.body, url)
    entries = _entries(root)
    if entries is None:
        return _strict(alert_elements(root, url), url)
    alerts: list[dict] = []
    for _entry_id, _updated, embedded, link in entries:
        if embedded:
            alerts += _strict(embedded, url)
        elif link:
            linked = urljoin(answer.url, link)
            alerts += _strict(alert_elements(parse_xml(fetcher.get(linked).body, linked), linked), linked)
    if not alerts:
        raise AlertFileError(f"{url}: a feed with no CAP alert in it or linked from it; nothing imported")
    return alerts


def _strict(elements: list[Element], name: str) -> list[dict]:
    alerts, errors = parse_each(elements, name)
    if errors:
        raise AlertFileError(f"{errors[0].removesuffix('; that alert skipped')}; nothing imported")
    return alerts

"""Gauges read from the database at scrape time: outbox backlog, oldest due row, heartbeats.

Every process writes what it knows to the database already; asking the database when
Prometheus scrapes gives one true value instead of one per process. Each source is a function
`(session, now) -> iterable of metric families`, registered with `@gauge_source`: a package
that keeps its own state (CAP feeds, say) adds its gauges the same way, without touching this
module. Each source runs in its own savepoint, so one that fails (a table not migrated yet)
leaves the others standing; a database that does not answer gives `chaski_database_up 0`.
The queries use indexes (ix_outbox_status_due) or tiny tables; a statement timeout bounds them.
Rows still in the outbox's hands (queued, sending) are counted at every scrape through the
index; the finished ones (sent, failed...) only grow, and counting them reads the whole table
(about 70 ms for 200,000 rows here), so each process counts those at most once a minute.
"""
from __future__ import annotations

import logging
import threading
import time
from datetime import datetime
from typing import Callable, Iterable

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from bot import clock
from models import OutboxMessage
from models.heartbeats import SCHEDULER, SENDER, last_seen
from models.outbox import STATUS_RANK

log = logging.getLogger(__name__)

GaugeSource = Callable[[Session, datetime], Iterable[Metric]]
SOURCES: dict[str, GaugeSource] = {}
STATEMENT_TIMEOUT_MS = 2000
OUTBOX_STATUSES = tuple(STATUS_RANK)
LIVE_STATUSES = ("queued", "sending")
FINISHED_COUNT_SECONDS = 60.0  # how long a count of the finished rows is reused
PROCESSES = (SENDER, SCHEDULER)
_finished: dict[str, tuple[float, dict]] = {}  # database URL -> (monotonic time, counts)
_finished_lock = threading.Lock()


def gauge_source(source: GaugeSource) -> GaugeSource:
    """Register `source` (by its qualified name: registering it again replaces it)."""
    SOURCES[f"{source.__module__}.{source.__qualname__}"] = source
    return source


@gauge_source
def outbox_gauges(session: Session, now: datetime) -> Iterable[Metric]:
    """Yield the outbox rows by status and the age of the oldest row that is due and unsent."""
    counts = _count_by_status(session, OutboxMessage.status.in_(LIVE_STATUSES))
    counts.update(finished_counts(session))
    rows = GaugeMetricFamily("chaski_outbox_messages", "Outbox rows by status", labels=["status"])
    for status in sorted(set(OUTBOX_STATUSES) | set(counts)):
        rows.add_metric([status], counts.get(status, 0))
    yield rows
    oldest = session.scalar(select(func.min(OutboxMessage.next_attempt_at))
                            .where(OutboxMessage.status == "queued",
                                   OutboxMessage.next_attempt_at <= now))
    yield GaugeMetricFamily("chaski_outbox_oldest_due_age_seconds",
                            "How long the oldest queued row has been due (0: nothing due)",
                            value=max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)


def _count_by_status(session: Session, condition) -> dict[str, int]:
    return dict(session.execute(select(OutboxMessage.status, func.count()).where(condition)
                                .group_by(OutboxMessage.status)).all())


def finished_counts(session: Session) -> dict[str, int]:
    """Return the finished rows by status, counted again only after FINISHED_COUNT_SECONDS."""
    key = str(session.get_bind().url)
    with _finished_lock:  # one count at a time; the others reuse it
        at, counts = _finished.get(key, (None, {}))
        if at is None or time.monotonic() - at >= FINISHED_COUNT_SECONDS:
            counts = _count_by_status(session, OutboxMessage.status.not_in(LIVE_STATUSES))
            _finished[key] = (time.monotonic(), counts)
        return dict(counts)


@gauge_source
def heartbeat_gauges(session: Session, now: datetime) -> Iterable[Metric]:
    """Yield the seconds since each kind of process last beat (+Inf: never)."""
    seen = last_seen(session)
    ages = GaugeMetricFamily("chaski_heartbeat_age_seconds",
                             "Seconds since any process of this kind last showed it was working "
                             "(+Inf: never seen)", labels=["process"])
    for process in sorted(set(PROCESSES) | set(seen)):
        when = seen.get(process)
        ages.add_metric([process], (now - when).total_seconds() if when else float("inf"))
    yield ages


class DatabaseCollector(Collector):
    """Collect every registered source from `db` at scrape time."""

    def __init__(self, db, sources: dict[str, GaugeSource] | None = None, now=clock.now):
        self.db, self.now = db, now
        self.sources = SOURCES if sources is None else sources

    def collect(self) -> Iterable[Metric]:
        started = time.perf_counter()
        families, up = [], 1
        try:
            with self.db.session() as session:
                if session.get_bind().dialect.name == "postgresql":
                    session.execute(text(f"SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}"))
                now = self.now()
                for name, source in self.sources.items():
                    families.extend(self._one(session, name, source, now))
        except Exception as exc:  # noqa: BLE001 - a scrape reports the outage, it does not fail
            log.warning("metrics: the database did not answer: %s", str(exc).splitlines()[0])
            families, up = [], 0
        yield from families
        yield GaugeMetricFamily("chaski_database_up", "1 when the database answered this scrape",
                                value=up)
        yield GaugeMetricFamily("chaski_metrics_database_seconds",
                                "Time this scrape spent reading the database",
                                value=time.perf_counter() - started)

    @staticmethod
    def _one(session: Session, name: str, source: GaugeSource, now: datetime) -> list[Metric]:
        """Run one source in a savepoint; a failing one is logged and left out."""
        savepoint = session.begin_nested()
        try:
            families = list(source(session, now))
        except Exception as exc:  # noqa: BLE001 - the other sources still count
            savepoint.rollback()
            if _connection_lost(exc):
                raise
            log.warning("metrics: gauge source %s failed", name, exc_info=True)
            return []
        savepoint.commit()
        return families


def _connection_lost(exc: Exception) -> bool:
    """Tell whether `exc` means the database went away (then the whole scrape says so)."""
    return bool(getattr(exc, "connection_invalidated", False))

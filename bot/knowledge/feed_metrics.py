"""Per-feed gauges on /metrics: each CAP feed's last poll, its failures in a row, its last error."""
from __future__ import annotations

from datetime import datetime
from typing import Iterable

from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy.orm import Session

from bot.knowledge.feeds import feed_health
from bot.monitoring.collectors import gauge_source


@gauge_source
def feed_gauges(session: Session, now: datetime) -> Iterable[Metric]:
    """Yield, per feed, seconds since its last poll (+Inf: never), failures and last error time."""
    labels = ["feed", "name"]
    age = GaugeMetricFamily("chaski_alert_feed_last_poll_age_seconds",
                            "Seconds since the CAP feed was last polled (+Inf: never)", labels=labels)
    failures = GaugeMetricFamily("chaski_alert_feed_failures",
                                 "Failed polls in a row of the CAP feed (0: its last poll worked)",
                                 labels=labels)
    status = GaugeMetricFamily("chaski_alert_feed_last_http_status",
                               "HTTP status of the feed's last poll (0: no answer)", labels=labels)
    error = GaugeMetricFamily("chaski_alert_feed_last_error_timestamp_seconds",
                              "When the CAP feed last failed, Unix time (0: never)", labels=labels)
    for feed in feed_health(session):
        key = [str(feed["id"]), feed["name"]]
        polled, failed = feed["last_polled_at"], feed["last_error_at"]
        age.add_metric(key, (now - polled).total_seconds() if polled else float("inf"))
        failures.add_metric(key, feed["failures"] or 0)
        status.add_metric(key, feed["last_status"] or 0)
        error.add_metric(key, failed.timestamp() if failed else 0.0)
    yield from (age, failures, status, error)

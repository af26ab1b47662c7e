"""Knowledge's scheduled job: poll the CAP feeds (takes its session and `now`, returns counts)."""
from __future__ import annotations

from datetime import timedelta

from bot.knowledge.feeds import poll_all, seed_feeds
from bot.settings import from_env


def poll_alert_feeds(session, now) -> dict:
    """Add the ALERT_FEEDS not stored yet, then poll every feed that is due (back-off respected)."""
    settings = from_env()
    added = seed_feeds(session, settings.alert_feeds)
    session.commit()
    results = poll_all(session, now, base=timedelta(minutes=settings.alert_poll_minutes))
    counts = {"feeds": len(results), "added": added, "failed": 0, "imported": 0, "pending": 0,
              "pushes": 0}
    for r in results:
        counts["failed"] += r.outcome == "failed"
        counts["imported"] += r.counts.imported
        counts["pending"] += r.counts.pending
        counts["pushes"] += r.counts.pushes
    return counts


JOBS = {"poll_alert_feeds": poll_alert_feeds}

"""Tell the time: the one clock that the app, the jobs, the CLI and the demo data ask.

Everything that needs "now" calls `now()` (models.utcnow is the same clock), so a
test sets the date in one place: `set_now(moment)` starts the clock at `moment`
and lets it tick on from there (sleeps, leases and timeouts still work), and
`reset()` puts it back on the system clock. Processes the suite starts are
shifted from outside with libfaketime (`make test-anyday`), which moves the
system clock under this one. The database's own clock is never asked: no
`now()` in SQL, no server defaults.

The Lima zone is defined in flows/records.py, beside the formatting that flows do
(flows import nothing from bot/); this module re-exports it for everyone else.
"""
from __future__ import annotations

import time
from datetime import date, datetime, timedelta, timezone

from flows.records import LIMA, lima_date

__all__ = ["LIMA", "lima_date", "now", "reset", "set_now", "today"]

_offset = timedelta(0)


def _system_now() -> datetime:
    return datetime.fromtimestamp(time.time(), timezone.utc)


def now() -> datetime:
    """Return the current time, timezone-aware, in UTC."""
    return _system_now() + _offset


def today() -> date:
    """Return today's date in Lima."""
    return lima_date(now())


def set_now(moment: datetime) -> None:
    """Start the clock at `moment` (aware) and let it tick on from there."""
    global _offset
    if moment.tzinfo is None:
        raise ValueError("set_now needs an aware datetime")
    _offset = moment - _system_now()


def reset() -> None:
    """Put the clock back on the system clock."""
    global _offset
    _offset = timedelta(0)

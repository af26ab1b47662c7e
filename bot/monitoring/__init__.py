"""Prometheus metrics: what each process counts (metrics), what the database shows at scrape
time (collectors) and the protected `GET /metrics` (views).

Several processes count at once (gunicorn workers, the scheduler, the senders): with
PROMETHEUS_MULTIPROC_DIR set, each writes its values to its own files in that directory and
`/metrics` adds them up (prometheus_client's multiprocess mode). The directory must exist before
prometheus_client makes its first value, so it is created here, before `metrics` is imported;
a process that cannot create it counts in memory only (and says so) instead of failing.
"""
from __future__ import annotations

import logging
import os

MULTIPROC_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None
if MULTIPROC_DIR:
    try:
        os.makedirs(MULTIPROC_DIR, exist_ok=True)
        if not os.access(MULTIPROC_DIR, os.W_OK | os.X_OK):
            raise PermissionError(13, "not writable")
    except OSError as exc:
        logging.getLogger(__name__).warning(
            "PROMETHEUS_MULTIPROC_DIR %s cannot be written (%s): this process's metrics stay in "
            "memory, /metrics does not see them", MULTIPROC_DIR, exc.strerror)
        os.environ.pop("PROMETHEUS_MULTIPROC_DIR")  # read by prometheus_client when imported
        MULTIPROC_DIR = None


def init_app(app) -> None:
    """Serve /metrics and time the webhooks of `app`."""
    from bot.monitoring import views

    views.init_app(app)

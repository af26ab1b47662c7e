"""GET /metrics (Prometheus text format), protected, and the hooks that time the webhooks.

Who may scrape:

* METRICS_TOKEN set: only a request with `Authorization: Bearer <METRICS_TOKEN>`; any other
  gets 401.
* METRICS_TOKEN unset: in production, nobody (404: the page does not exist); in development,
  only a client on this machine (`make run` on 127.0.0.1), anyone else gets 404.

nginx's example site (deploy/nginx/chaski.conf) also refuses /metrics from the public side.
"""
from __future__ import annotations

import hmac
import ipaddress
import logging
import time

from flask import Blueprint, Flask, Response, g, request
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

from bot.monitoring import MULTIPROC_DIR, metrics
from bot.monitoring.collectors import DatabaseCollector
from bot.services import services

log = logging.getLogger(__name__)
bp = Blueprint("monitoring", __name__)


class _ThisProcess(Collector):
    """Without PROMETHEUS_MULTIPROC_DIR: this process's own values (one process only)."""

    def collect(self):
        yield from REGISTRY.collect()


def scrape_registry(db) -> CollectorRegistry:
    """Return a registry of every process's values (or this one's) plus the database gauges."""
    registry = CollectorRegistry(auto_describe=False)
    if MULTIPROC_DIR:
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry, path=MULTIPROC_DIR)
    else:
        registry.register(_ThisProcess())
    registry.register(DatabaseCollector(db))
    return registry


def refusal(settings) -> Response | None:
    """Return the answer to a request that may not scrape, or None when it may."""
    token = settings.metrics_token
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
            return None
        return Response("Authorization: Bearer <METRICS_TOKEN> required\n", status=401,
                        headers={"WWW-Authenticate": 'Bearer realm="chaski metrics"'},
                        mimetype="text/plain")
    if not settings.production and _loopback(request.remote_addr):
        return None
    return Response("Not Found\n", status=404, mimetype="text/plain")


def _loopback(address: str | None) -> bool:
    try:
        return ipaddress.ip_address(address or "").is_loopback
    except ValueError:
        return False


@bp.get("/metrics")
def scrape():
    svc = services()
    refused = refusal(svc.settings)
    if refused is not None:
        return refused
    body = generate_latest(scrape_registry(svc.db))
    return Response(body, headers={"Content-Type": CONTENT_TYPE_LATEST, "Cache-Control": "no-store"})


def _start_timer() -> None:
    if request.path in metrics.WEBHOOK_PATHS:
        g.chaski_webhook_started = time.perf_counter()


def _observe(response: Response) -> Response:
    started = g.pop("chaski_webhook_started", None)
    if started is not None:
        try:
            sender = request.form.get("From", "")
            channel = "whatsapp" if sender.startswith("whatsapp:") else "sms" if sender else "unknown"
            metrics.observe_webhook(request.path, channel, response.status_code,
                                    time.perf_counter() - started)
        except Exception:  # noqa: BLE001 - a metric never spoils an answer to Twilio
            log.exception("could not time a webhook")
    return response


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.before_request(_start_timer)
    app.after_request(_observe)
    settings = app.config["CHASKI"]
    if settings.production and not settings.metrics_token:
        log.warning("METRICS_TOKEN is not set: /metrics answers 404 (set it to let Prometheus in)")

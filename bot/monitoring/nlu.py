"""The Rasa client the app uses: nlu.client.RasaClient, with every parse timed and its errors counted."""
from __future__ import annotations

import time

import requests

from bot.monitoring import metrics
from nlu.client import NLUUnavailable, RasaClient


def error_kind(exc: NLUUnavailable) -> str:
    """Return what went wrong: timeout, unreachable, refused (401/403: NLU_TOKEN) or bad_answer."""
    cause = exc.__cause__
    if isinstance(cause, requests.Timeout):
        return "timeout"
    if isinstance(cause, ValueError):  # requests' JSONDecodeError is a RequestException too
        return "bad_answer"
    if isinstance(cause, requests.RequestException):
        return "unreachable"
    if "refused the request" in str(exc):
        return "refused"
    return "bad_answer"  # an HTTP error, a body that is not JSON or has no intent


class MeasuredRasaClient(RasaClient):
    """A RasaClient whose parses count in chaski_nlu_request_seconds and chaski_nlu_errors_total."""

    def parse(self, text: str) -> dict:
        started = time.perf_counter()
        try:
            result = super().parse(text)
        except NLUUnavailable as exc:
            metrics.observe_nlu(time.perf_counter() - started, error_kind(exc))
            raise
        metrics.observe_nlu(time.perf_counter() - started)
        return result

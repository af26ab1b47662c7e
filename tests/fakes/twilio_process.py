"""The fake Twilio API as a WSGI app for a server process of its own, as Twilio is on another machine.

Benchmarks run it under gunicorn (gthread), which keeps connections alive like
api.twilio.com does; werkzeug's development server closes every connection. In a
process of its own, the fake's request handling does not share the measured
process's interpreter lock.

    gunicorn -k gthread --threads 128 "tests.fakes.twilio_process:app()"

FAKE_TWILIO_LATENCY (seconds, default 0) is spent on every request. Besides
Twilio's endpoints the app answers ``GET /fake/stats`` (``{"messages": N}``) and
``POST /fake/reset``; `Remote` calls them. Run it with one worker: the messages
are kept in that worker's memory.
"""
from __future__ import annotations

import json
import os

import requests
from werkzeug.wrappers import Request, Response

from tests.fakes.twilio_api import FakeTwilioAPI


def app():
    """Return the fake's WSGI app with /fake/stats and /fake/reset added."""
    fake = FakeTwilioAPI(latency=float(os.environ.get("FAKE_TWILIO_LATENCY") or 0))

    def serve(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == "/fake/stats":
            with fake._lock:
                payload = {"messages": len(fake.messages)}
            return Response(json.dumps(payload), content_type="application/json")(environ, start_response)
        if path == "/fake/reset" and Request(environ).method == "POST":
            fake.reset()
            return Response(status=204)(environ, start_response)
        return fake.wsgi_app(environ, start_response)

    return serve


class Remote:
    """Read and reset the fake served at `base_url`."""

    def __init__(self, base_url: str):
        self.base_url = base_url

    def count(self) -> int:
        """Return how many messages the fake accepted since its last reset."""
        return requests.get(f"{self.base_url}/fake/stats", timeout=10).json()["messages"]

    def reset(self) -> None:
        """Forget the fake's messages and requests."""
        requests.post(f"{self.base_url}/fake/reset", timeout=10).raise_for_status()

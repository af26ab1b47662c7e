"""Make any attempt to reach the real Twilio fail loudly in tests.

Use from tests/conftest.py::

    from tests.fakes.guard import block_real_twilio

    @pytest.fixture(autouse=True)
    def _no_real_twilio(monkeypatch):
        block_real_twilio(monkeypatch)

or load this module as a plugin (``pytest -p tests.fakes.guard``), which adds
the autouse guard and a ``fake_twilio`` fixture (a started FakeTwilioAPI).
"""
from __future__ import annotations

import socket
from urllib.parse import urlsplit

import pytest
import requests.adapters

from tests.fakes.twilio_api import FakeTwilioAPI, start_fake_twilio

__all__ = ["RealTwilioReached", "block_real_twilio", "is_twilio_host",
           "FakeTwilioAPI", "start_fake_twilio", "fake_twilio"]


class RealTwilioReached(AssertionError):
    """A test tried to reach a real *.twilio.com host."""


def is_twilio_host(host) -> bool:
    """Tell whether `host` is twilio.com or one of its subdomains."""
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str):
        return False
    host = host.strip().rstrip(".").lower()
    return host == "twilio.com" or host.endswith(".twilio.com")


def _refuse(host, how: str):
    raise RealTwilioReached(
        f"test tried to reach the real Twilio host {host!r} ({how}); "
        "point the client at FakeTwilioAPI (api_base_url / TWILIO_API_BASE_URL)")


def block_real_twilio(monkeypatch) -> None:
    """Patch name resolution and connections so *.twilio.com raises RealTwilioReached."""
    monkeypatch.delenv("TWILIO_EDGE", raising=False)
    monkeypatch.delenv("TWILIO_REGION", raising=False)
    real_getaddrinfo = socket.getaddrinfo
    real_gethostbyname = socket.gethostbyname
    real_create_connection = socket.create_connection
    real_send = requests.adapters.HTTPAdapter.send

    def getaddrinfo(host, *args, **kwargs):
        if is_twilio_host(host):
            _refuse(host, "socket.getaddrinfo")
        return real_getaddrinfo(host, *args, **kwargs)

    def gethostbyname(host):
        if is_twilio_host(host):
            _refuse(host, "socket.gethostbyname")
        return real_gethostbyname(host)

    def create_connection(address, *args, **kwargs):
        if is_twilio_host(address[0]):
            _refuse(address[0], "socket.create_connection")
        return real_create_connection(address, *args, **kwargs)

    def send(self, request, *args, **kwargs):
        # Also catches requests sent through an HTTP(S) proxy, where DNS happens elsewhere.
        host = urlsplit(request.url).hostname
        if is_twilio_host(host):
            _refuse(host, "requests HTTPAdapter.send")
        return real_send(self, request, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket, "gethostbyname", gethostbyname)
    monkeypatch.setattr(socket, "create_connection", create_connection)
    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", send)


@pytest.fixture(autouse=True)
def _block_real_twilio(monkeypatch):
    """Guard every test when this module is loaded as a plugin."""
    block_real_twilio(monkeypatch)


@pytest.fixture
def fake_twilio():
    """Yield a started FakeTwilioAPI, stopped after the test."""
    fake = start_fake_twilio()
    try:
        yield fake
    finally:
        fake.stop()

"""A loopback stand-in for Twilio's media URLs: bytes only with the account's basic auth.

`add(content_type, data)` publishes one media item and returns the URL Twilio
would post in `MediaUrl0` (https://api.twilio.com/2010-04-01/Accounts/AC.../
Messages/MM.../Media/ME...); the app reaches it through TWILIO_API_BASE_URL.
Every request is counted per media path, with or without the right credentials,
so a test can show that some media was never fetched.
"""
from __future__ import annotations

import base64
import itertools
import threading
from collections import Counter

from werkzeug.wrappers import Request, Response

from tests.fakes.loopback import LoopbackServer
from tests.fakes.twilio_api import FAKE_ACCOUNT_SID, FAKE_AUTH_TOKEN

TWILIO = "https://api.twilio.com"
# A tiny valid PNG (1x1, green) and a few bytes standing in for an OGG voice note.
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGNg+M8AAAICAQB7CYF4"
                       "AAAAAElFTkSuQmCC")
OGG = b"OggS\x00\x02" + b"\x00" * 20 + b"fake voice note"


class FakeTwilioMedia(LoopbackServer):
    """Serve media on 127.0.0.1 in a thread; `hits[path]` counts requests for each."""

    def __init__(self, account_sid: str = FAKE_ACCOUNT_SID, auth_token: str = FAKE_AUTH_TOKEN):
        self.account_sid, self.auth_token = account_sid, auth_token
        self.items: dict[str, tuple[str, bytes]] = {}
        self.hits: Counter = Counter()
        self.refused = 0
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    def add(self, content_type: str, data: bytes) -> str:
        """Publish one media item; return its Twilio-style URL."""
        n = next(self._ids)
        path = (f"/2010-04-01/Accounts/{self.account_sid}/Messages/MM{n:032x}/Media/ME{n:032x}")
        self.items[path] = (content_type, data)
        return TWILIO + path

    def fetched(self, url: str) -> int:
        """Return how many requests reached the media of `url` (authorised or not)."""
        return self.hits[url.removeprefix(TWILIO)]

    @property
    def total(self) -> int:
        return sum(self.hits.values())

    def _app(self, environ, start_response):
        request = Request(environ)
        with self._lock:
            self.hits[request.path] += 1
        auth = request.authorization
        if auth is None or (auth.username, auth.password) != (self.account_sid, self.auth_token):
            with self._lock:
                self.refused += 1
            response = Response("authentication required", status=401,
                                headers={"WWW-Authenticate": 'Basic realm="Twilio API"'})
        elif request.path not in self.items:
            response = Response("not found", status=404)
        else:
            content_type, data = self.items[request.path]
            response = Response(data, content_type=content_type)
        return response(environ, start_response)

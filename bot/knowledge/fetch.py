"""Fetch a feed or a CAP document over HTTP the way a good citizen does.

Only http and https; connect and read time-outs plus a whole-response deadline;
conditional GET (If-None-Match / If-Modified-Since: a 304 costs nothing); a size
limit on every body, checked while reading; a few redirects at most, each one
checked again for its scheme.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import requests

USER_AGENT = "Chaski-CAP-poller/1.0 (+https://github.com/; climate alerts for rural Peru)"
ACCEPT = "application/cap+xml, application/atom+xml, application/rss+xml, application/xml;q=0.9, */*;q=0.5"
REDIRECTS = (301, 302, 303, 307, 308)


class FetchError(Exception):
    """The URL gave nothing usable; `status` is the HTTP status when there was an answer."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


@dataclass
class Fetched:
    """One answer: status 200 with a body, or 304 (not modified) without one."""

    url: str  # after redirects
    status: int
    body: bytes | None = None
    etag: str | None = None
    last_modified: str | None = None


def check_url(url: str) -> str:
    """Return `url` if it is http(s) with a host; raise FetchError otherwise (never file:)."""
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise FetchError(f"{url!r}: only http:// and https:// URLs are fetched")
    return url


@dataclass
class Fetcher:
    """The HTTP limits of a poll (tests shrink them)."""

    connect_timeout: float = 5.0
    read_timeout: float = 15.0
    total_seconds: float = 30.0  # the whole answer, however slowly it trickles in
    max_bytes: int = 2_000_000
    max_redirects: int = 3

    def get(self, url: str, etag: str | None = None, last_modified: str | None = None) -> Fetched:
        """GET `url` (conditionally when etag/last_modified are given); raise FetchError."""
        headers = {"User-Agent": USER_AGENT, "Accept": ACCEPT}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        deadline = time.monotonic() + self.total_seconds
        with requests.Session() as http:
            http.trust_env = False  # no proxy or netrc from the environment
            for _hop in range(self.max_redirects + 1):
                check_url(url)
                response = self._request(http, url, headers)
                with response:
                    if response.status_code in REDIRECTS and response.headers.get("Location"):
                        url = urljoin(url, response.headers["Location"])
                        continue
                    return self._answer(url, response, deadline)
        raise FetchError(f"{url}: more than {self.max_redirects} redirects (a loop?)")

    def _request(self, http: requests.Session, url: str, headers: dict):
        try:
            return http.get(url, headers=headers, stream=True, allow_redirects=False,
                            timeout=(self.connect_timeout, self.read_timeout))
        except requests.Timeout:
            raise FetchError(f"{url}: no answer within the time-out "
                             f"({self.connect_timeout:g} s connect, {self.read_timeout:g} s read)") from None
        except requests.RequestException as exc:
            raise FetchError(f"{url}: {type(exc).__name__}: {exc}") from None

    def _answer(self, url: str, response, deadline: float) -> Fetched:
        status = response.status_code
        etag, modified = response.headers.get("ETag"), response.headers.get("Last-Modified")
        if status == 304:
            return Fetched(url, 304, None, etag, modified)
        if status != 200:
            raise FetchError(f"{url}: HTTP {status}", status)
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise FetchError(f"{url}: {int(declared):,} bytes, over the limit of {self.max_bytes:,}", status)
        body = bytearray()
        try:
            for chunk in response.iter_content(chunk_size=65536):
                body += chunk
                if len(body) > self.max_bytes:
                    raise FetchError(f"{url}: more than {self.max_bytes:,} bytes; not read further",
                                     status)
                if time.monotonic() > deadline:
                    raise FetchError(f"{url}: still arriving after {self.total_seconds:g} s; given up",
                                     status)
        except requests.RequestException as exc:
            raise FetchError(f"{url}: the answer broke off ({type(exc).__name__})", status) from None
        return Fetched(url, status, bytes(body), etag, modified)

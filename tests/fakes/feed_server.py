"""A real HTTP server on loopback that publishes CAP feeds, for the feed-polling tests.

Routes are set by the test (`serve`): a body with its content type, ETag and
Last-Modified (answered 304 when the request's conditional headers match), or a
misbehaviour: a status, a delay past the client's time-out, an oversized body,
a redirect. Every request is recorded with its headers.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from werkzeug.wrappers import Request, Response

from tests.fakes.loopback import LoopbackServer

FEEDS = Path(__file__).resolve().parents[1] / "data" / "feeds"
CAP_TYPE = "application/cap+xml"


@dataclass
class Route:
    body: bytes = b""
    content_type: str = "application/xml"
    status: int = 200
    etag: str | None = None
    last_modified: str | None = None
    delay: float = 0.0  # seconds before answering
    location: str | None = None  # a redirect


class FeedServer(LoopbackServer):
    """Serve routes on 127.0.0.1 in a thread; `requests` lists (path, headers) received."""

    def __init__(self):
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, dict]] = []
        self._lock = threading.Lock()

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def serve(self, path: str, **route) -> str:
        """Publish `path` (keyword arguments of Route); return its URL."""
        self.routes[path] = Route(**route)
        return self.url(path)

    def serve_file(self, path: str, name: str, **route) -> str:
        """Publish tests/data/feeds/NAME at `path` as a CAP document."""
        return self.serve(path, body=(FEEDS / name).read_bytes(), content_type=CAP_TYPE, **route)

    def hits(self, path: str) -> list[dict]:
        """Return the headers of each request for `path`."""
        with self._lock:
            return [headers for p, headers in self.requests if p == path]

    def _app(self, environ, start_response):
        request = Request(environ)
        with self._lock:
            self.requests.append((request.path, dict(request.headers)))
        route = self.routes.get(request.path)
        if route is None:
            return Response("not found", 404)(environ, start_response)
        if route.delay:
            time.sleep(route.delay)
        if route.location:
            return Response("", route.status or 302, headers={"Location": route.location})(
                environ, start_response)
        headers = {}
        if route.etag:
            headers["ETag"] = route.etag
        if route.last_modified:
            headers["Last-Modified"] = route.last_modified
        same_etag = route.etag and request.headers.get("If-None-Match") == route.etag
        same_date = route.last_modified and request.headers.get("If-Modified-Since") == route.last_modified
        if route.status == 200 and (same_etag or (same_date and not request.headers.get("If-None-Match"))):
            return Response(b"", 304, headers=headers)(environ, start_response)
        return Response(route.body, route.status, content_type=route.content_type,
                        headers=headers)(environ, start_response)


def atom(entries: list[tuple[str, str, str]], title: str = "PRUEBA / test CAP index") -> bytes:
    """Return an Atom index whose entries (id, updated, href) link to CAP documents."""
    items = "".join(
        f"<entry><id>{escape(i)}</id><title>{escape(i)}</title><updated>{u}</updated>"
        f'<link rel="alternate" type="{CAP_TYPE}" href="{escape(href)}"/></entry>'
        for i, u, href in entries)
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
            f"<title>{escape(title)}</title><id>urn:test:index</id><updated>2026-11-22T10:00:00Z</updated>"
            f"{items}</feed>").encode()


def rss(names: list[str], title: str = "PRUEBA / test RSS with alerts") -> bytes:
    """Return an RSS 2.0 feed with the CAP documents tests/data/feeds/NAME embedded in its items."""
    items = []
    for name in names:
        text = (FEEDS / name).read_text(encoding="utf-8")
        alert = text[text.index("<alert"):]
        items.append(f"<item><title>{escape(name)}</title><guid>{escape(name)}</guid>{alert}</item>")
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
            f"<title>{escape(title)}</title>{''.join(items)}</channel></rss>").encode()

"""A local HTTP server that answers like Twilio's REST API for messages and the Content API.

Content API (content.twilio.com, same base URL here): ``POST /v1/Content`` (JSON)
creates an item after checking the limits of `twilio/quick-reply` (3 buttons,
titles of 20 characters) and `twilio/list-picker` (10 items of 24 characters, a
button); ``GET /v1/Content/<sid>`` fetches it. ``fail_content_next`` makes the next
Content API requests fail; a message sent with a known ContentSid gets the item's
text as its body, as Twilio shows it.

Point the app at it with ``TWILIO_API_BASE_URL=fake.base_url`` (or
``build_client(..., api_base_url=fake.base_url)``) and the fake's credentials.
Like the real API, a request that the client gave up on (timeout) is still
processed and the message still accepted once the delay is over.
"""
from __future__ import annotations

import base64
import json
import math
import re
import threading
import time
import uuid
from datetime import datetime, timezone
from email.utils import format_datetime
from typing import Optional

from werkzeug.routing import Map, Rule
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

FAKE_ACCOUNT_SID = "AC" + "f" * 32  # not a real account: every hex digit is 'f'
FAKE_AUTH_TOKEN = "fake-token"
API = "/2010-04-01"

# GSM 03.38 basic character set, and the extension table (each costs two septets).
GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = set("^{}\\[~]|€\f")
E164 = re.compile(r"^\+[1-9]\d{6,14}$")


def count_segments(body: str) -> int:
    """Count SMS segments: GSM-7 160/153, otherwise UCS-2 70/67 (UTF-16 units)."""
    if not body:
        return 1
    if all(c in GSM7_BASIC or c in GSM7_EXTENDED for c in body):
        units = sum(2 if c in GSM7_EXTENDED else 1 for c in body)
        single, multi = 160, 153
    else:
        units = len(body.encode("utf-16-le")) // 2
        single, multi = 70, 67
    return 1 if units <= single else math.ceil(units / multi)


def twilio_error(status: int, code: int, message: str, headers=None) -> Response:
    """Answer with Twilio's legacy error JSON."""
    payload = {"code": code, "message": message,
               "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status}
    return Response(json.dumps(payload), status=status, headers=headers,
                    content_type="application/json; charset=utf-8")


class _Fail(Exception):
    """Abort a request with a Twilio error."""

    def __init__(self, status: int, code: int, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class FakeTwilioAPI:
    """A real HTTP server on 127.0.0.1 that behaves like Twilio's Messages API."""

    def __init__(self, account_sid: str = FAKE_ACCOUNT_SID, auth_token: str = FAKE_AUTH_TOKEN,
                 latency: float = 0.0):
        """Configure the fake; `latency` seconds are spent on every request (0: answer at once)."""
        self.account_sid, self.auth_token = account_sid, auth_token
        self.latency = latency
        self.requests: list[dict] = []
        self.messages: list[dict] = []
        self._failures: list[tuple[int, int, str]] = []
        self._content_failures: list[tuple[int, int, str]] = []
        self.contents: dict[str, dict] = {}  # ContentSid -> the item as created
        self._delays: list[float] = []
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._in_flight = 0
        self._stopping = threading.Event()
        self._server = None
        self._thread: Optional[threading.Thread] = None
        self._urls = Map([
            Rule(f"{API}/Accounts/<account>/Messages.json", endpoint="create", methods=["POST"]),
            Rule(f"{API}/Accounts/<account>/Messages.json", endpoint="list", methods=["GET"]),
            Rule(f"{API}/Accounts/<account>/Messages/<sid>.json", endpoint="fetch", methods=["GET"]),
            Rule("/v1/Content", endpoint="content_create", methods=["POST"]),
            Rule("/v1/Content/<sid>", endpoint="content_fetch", methods=["GET"]),
        ])

    # ---- lifecycle -------------------------------------------------------
    def start(self) -> "FakeTwilioAPI":
        """Start serving in a daemon thread on a free port."""
        self._stopping.clear()
        self._server = make_server("127.0.0.1", 0, self.wsgi_app, threaded=True)
        # A short poll: stop() waits for it, and every test using the fake stops one.
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        name="fake-twilio-api", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the server and release its port."""
        if self._server is None:
            return
        self._stopping.set()  # wake up delayed handlers
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> "FakeTwilioAPI":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """Return http://127.0.0.1:PORT."""
        if self._server is None:
            raise RuntimeError("FakeTwilioAPI is not started")
        return f"http://127.0.0.1:{self._server.server_port}"

    # ---- test controls ---------------------------------------------------
    def fail_next(self, status: int = 429, code: int = 20429,
                  message: str = "Too Many Requests", times: int = 1) -> None:
        """Answer the next `times` authenticated API requests with this Twilio error."""
        with self._lock:
            self._failures.extend([(status, code, message)] * times)

    def fail_content_next(self, status: int = 500, code: int = 20500,
                          message: str = "Internal Server Error", times: int = 1) -> None:
        """Answer the next `times` Content API requests with this Twilio error."""
        with self._lock:
            self._content_failures.extend([(status, code, message)] * times)

    def add_content(self, sid: str, types: dict, language: str = "es") -> None:
        """Store an item made elsewhere (a template built in Twilio's console)."""
        with self._lock:
            self.contents[sid] = {"sid": sid, "account_sid": self.account_sid, "language": language,
                                  "friendly_name": sid.lower(), "variables": {}, "types": types}

    def content_requests(self, method: str = "POST") -> list[dict]:
        """Return the recorded Content API requests of `method`."""
        with self._lock:
            return [dict(r) for r in self.requests
                    if r["path"].startswith("/v1/Content") and r["method"] == method]

    def delay_next(self, seconds: float, times: int = 1) -> None:
        """Wait `seconds` before answering each of the next `times` requests."""
        with self._lock:
            self._delays.extend([seconds] * times)

    def reset(self) -> None:
        """Forget recorded requests, messages, failures and delays."""
        with self._lock:
            self.requests.clear()
            self.messages.clear()
            self.contents.clear()
            self._failures.clear()
            self._content_failures.clear()
            self._delays.clear()

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Wait until no request is being handled (e.g. a delayed one); tell whether it got there."""
        with self._idle:
            return self._idle.wait_for(lambda: self._in_flight == 0, timeout)

    def message(self, sid: str) -> Optional[dict]:
        """Return the stored message with this sid, or None."""
        with self._lock:
            return next((dict(m) for m in self.messages if m["sid"] == sid), None)

    # ---- HTTP --------------------------------------------------------------
    def wsgi_app(self, environ, start_response):
        """Serve one WSGI request."""
        request = Request(environ)
        return self._dispatch(request)(environ, start_response)

    def _auth_ok(self, request: Request) -> bool:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except Exception:
            return False
        return user == self.account_sid and password == self.auth_token

    def _dispatch(self, request: Request) -> Response:
        form = {k: (v[0] if len(v) == 1 else v) for k, v in request.form.lists()}
        body = request.get_json(silent=True) if request.is_json else None
        record = {"method": request.method, "path": request.path, "form": form, "json": body,
                  "auth_ok": self._auth_ok(request), "status": None, "at": time.monotonic()}
        with self._lock:
            self.requests.append(record)
            delay = (self._delays.pop(0) if self._delays else 0) + self.latency
            self._in_flight += 1
        try:
            if delay:
                self._stopping.wait(delay)
            response = self._handle(request, form, record["auth_ok"])
            record["status"] = response.status_code
            return response
        finally:
            with self._idle:
                self._in_flight -= 1
                self._idle.notify_all()

    def _handle(self, request: Request, form: dict, auth_ok: bool) -> Response:
        adapter = self._urls.bind_to_environ(request.environ)
        try:
            endpoint, args = adapter.match()
        except MethodNotAllowed:
            return twilio_error(405, 20004, "Method not allowed")
        except (NotFound, HTTPException):
            return twilio_error(404, 20404, f"The requested resource {request.path} was not found")
        if not auth_ok:
            return twilio_error(401, 20003, "Authenticate",
                                headers={"WWW-Authenticate": 'Basic realm="Twilio API"'})
        if endpoint.startswith("content_"):
            return self._content(endpoint, args, request)
        if args["account"] != self.account_sid:
            return twilio_error(404, 20404, f"The requested resource {request.path} was not found")
        with self._lock:
            failure = self._failures.pop(0) if self._failures else None
        if failure:
            return twilio_error(*failure)
        try:
            if endpoint == "create":
                return self._json(self._create(form), 201)
            if endpoint == "list":
                return self._json(self._list(request.args), 200)
            stored = self.message(args["sid"])
            if stored is None:
                raise _Fail(404, 20404, f"The requested resource {request.path} was not found")
            return self._json(stored, 200)
        except _Fail as fail:
            return twilio_error(fail.status, fail.code, fail.message)

    def _content(self, endpoint: str, args: dict, request: Request) -> Response:
        """Serve the Content API: create (checked like Twilio) or fetch an item."""
        with self._lock:
            failure = self._content_failures.pop(0) if self._content_failures else None
        if failure:
            return twilio_error(*failure)
        try:
            if endpoint == "content_fetch":
                with self._lock:
                    item = self.contents.get(args["sid"])
                if item is None:
                    raise _Fail(404, 20404, f"The requested resource {request.path} was not found")
                return self._json(item, 200)
            return self._json(self._create_content(request.get_json(silent=True)), 201)
        except _Fail as fail:
            return twilio_error(fail.status, fail.code, fail.message)

    def _create_content(self, payload) -> dict:
        if not isinstance(payload, dict) or not isinstance(payload.get("types"), dict):
            raise _Fail(400, 20001, "Invalid content: 'types' is required")
        if not payload.get("friendly_name") or not payload.get("language"):
            raise _Fail(400, 20001, "Invalid content: friendly_name and language are required")
        for kind, body in payload["types"].items():
            _check_content_type(kind, body)
        sid = "HX" + uuid.uuid4().hex
        now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        item = {"sid": sid, "account_sid": self.account_sid, "friendly_name": payload["friendly_name"],
                "language": payload["language"], "variables": payload.get("variables") or {},
                "types": payload["types"], "date_created": now, "date_updated": now,
                "url": f"https://content.twilio.com/v1/Content/{sid}", "links": {}}
        with self._lock:
            self.contents[sid] = item
        return dict(item)

    @staticmethod
    def _json(payload: dict, status: int) -> Response:
        return Response(json.dumps(payload), status=status,
                        content_type="application/json; charset=utf-8")

    def _list(self, args) -> dict:
        """List messages newest first, filtered by To/From like Twilio (one page)."""
        size = min(int(args.get("PageSize") or 50), 1000)
        with self._lock:
            found = [dict(m) for m in reversed(self.messages)
                     if all(m[field] == args[name] for name, field in (("To", "to"), ("From", "from"))
                            if args.get(name))]
        uri = f"{API}/Accounts/{self.account_sid}/Messages.json"
        return {"messages": found[:size], "page": 0, "page_size": size, "uri": uri,
                "first_page_uri": uri, "next_page_uri": None, "previous_page_uri": None,
                "start": 0, "end": max(0, min(size, len(found)) - 1)}

    def _create(self, form: dict) -> dict:
        to, from_ = form.get("To"), form.get("From")
        service = form.get("MessagingServiceSid")
        body, content_sid, media = form.get("Body"), form.get("ContentSid"), form.get("MediaUrl")
        if not to:
            raise _Fail(400, 21604, "A 'To' phone number is required.")
        if not from_ and not service:
            raise _Fail(400, 21603,
                        "A 'From' or 'MessagingServiceSid' parameter is required to send a message")
        if not body and not content_sid and not media:
            raise _Fail(400, 21602, "Message body is required.")
        if from_ and to.startswith("whatsapp:") != from_.startswith("whatsapp:"):
            raise _Fail(400, 21910, "Invalid From and To pair. From and To should be of the same channel")
        if not E164.match(to.removeprefix("whatsapp:")):
            raise _Fail(400, 21211, f"Invalid 'To' Phone Number: {to}")
        if from_ and from_.startswith("whatsapp:") and not E164.match(from_.removeprefix("whatsapp:")):
            raise _Fail(400, 21212, f"Invalid From Number (caller ID): {from_}")
        if "ContentVariables" in form:
            try:
                if not isinstance(json.loads(form["ContentVariables"]), dict):
                    raise ValueError
            except (TypeError, ValueError):
                raise _Fail(400, 21656, "The ContentVariables Parameter is invalid.") from None
        if body and len(body) > 1600:
            raise _Fail(400, 21617, "The concatenated message body exceeds the 1600 character limit.")
        if content_sid and not body:
            with self._lock:
                item = self.contents.get(content_sid)
            if item is None and not content_sid.startswith("HX"):
                raise _Fail(400, 21655, "The ContentSid is Invalid.")
            body = ((item or {}).get("types", {}).get("twilio/text") or {}).get("body", "")
        sid = "SM" + uuid.uuid4().hex
        now = format_datetime(datetime.now(timezone.utc))
        uri = f"{API}/Accounts/{self.account_sid}/Messages/{sid}"
        n_media = 1 if isinstance(media, str) else len(media or [])
        message = {
            "account_sid": self.account_sid, "api_version": "2010-04-01",
            "body": body or "", "date_created": now, "date_sent": None, "date_updated": now,
            "direction": "outbound-api", "error_code": None, "error_message": None,
            "from": from_, "messaging_service_sid": service,
            "num_media": str(n_media), "num_segments": str(count_segments(body or "")),
            "price": None, "price_unit": "USD", "sid": sid,
            "status": "accepted" if service else "queued",
            "subresource_uris": {"media": f"{uri}/Media.json", "feedback": f"{uri}/Feedback.json"},
            "to": to, "uri": f"{uri}.json",
        }
        with self._lock:
            self.messages.append(message)
        return dict(message)


def _check_content_type(kind: str, body) -> None:
    """Refuse a Content type the way the Content API does (limits from Twilio's documentation)."""
    if not isinstance(body, dict) or not body.get("body"):
        raise _Fail(400, 20001, f"Invalid content: {kind} needs a body")
    if len(body["body"]) > 1024:
        raise _Fail(400, 20001, f"Invalid content: {kind} body longer than 1024 characters")
    if kind == "twilio/quick-reply":
        actions = body.get("actions") or []
        if not 1 <= len(actions) <= 3 or any(len(a.get("title", "")) > 20 or not a.get("id")
                                             for a in actions):
            raise _Fail(400, 20001, "Invalid content: quick-reply takes 1-3 actions, titles "
                                    "of at most 20 characters, each with an id")
    elif kind == "twilio/list-picker":
        items = body.get("items") or []
        if not body.get("button") or not 1 <= len(items) <= 10 or any(
                len(i.get("item", "")) > 24 or not i.get("id") for i in items):
            raise _Fail(400, 20001, "Invalid content: list-picker takes a button and 1-10 items "
                                    "of at most 24 characters, each with an id")
    elif kind != "twilio/text":
        raise _Fail(400, 20001, f"Content type {kind} is not supported by this fake")


def start_fake_twilio(account_sid: str = FAKE_ACCOUNT_SID,
                      auth_token: str = FAKE_AUTH_TOKEN, latency: float = 0.0) -> FakeTwilioAPI:
    """Start a FakeTwilioAPI (answering after `latency` seconds); the caller stops it."""
    return FakeTwilioAPI(account_sid, auth_token, latency).start()

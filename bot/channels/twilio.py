"""Outbound Twilio REST access: build a client and send one message."""
from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import Optional
from urllib.parse import urlsplit

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

log = logging.getLogger(__name__)

_TWILIO_ORIGIN = re.compile(r"^https://(?:[A-Za-z0-9-]+\.)*twilio\.com(?::\d+)?(?=/|$)", re.I)
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
_ERROR_PREFIX = re.compile(r"^Unable to \w+ record: ")
# Twilio error codes the sender acts on: the person sent STOP; free-form WhatsApp outside 24 h.
OPTED_OUT, OUTSIDE_WINDOW = 21610, 63016


class BaseUrl:
    """Point every https://*.twilio.com origin at `api_base_url` (None: the real Twilio)."""

    api_base_url: Optional[str] = None

    def use_base_url(self, api_base_url: Optional[str]) -> None:
        """Set the base URL (a trailing slash dropped)."""
        self.api_base_url = api_base_url.rstrip("/") if api_base_url else None

    @property
    def is_local(self) -> bool:
        """Tell whether the base URL is on loopback (a fake, never reached through a proxy)."""
        return bool(self.api_base_url) and urlsplit(self.api_base_url).hostname in _LOOPBACK

    def rewrite(self, url: str) -> str:
        """Return `url` pointed at the configured base URL."""
        if not self.api_base_url:
            return url
        return _TWILIO_ORIGIN.sub(lambda _m: self.api_base_url, url, count=1)


class BaseUrlHttpClient(BaseUrl, TwilioHttpClient):
    """Send Twilio requests with a timeout, optionally to another base URL."""

    def __init__(self, timeout: float = 10.0, api_base_url: Optional[str] = None):
        """Create the HTTP client; `api_base_url` replaces every https://*.twilio.com origin."""
        super().__init__(timeout=timeout)
        self.use_base_url(api_base_url)
        if self.is_local:
            self.session.trust_env = False  # never send a local fake's traffic through a proxy

    def request(self, method, url, *args, **kwargs):
        """Make the request against the rewritten URL."""
        return super().request(method, self.rewrite(url), *args, **kwargs)


def build_client(account_sid: Optional[str], auth_token: Optional[str],
                 api_base_url: Optional[str] = None, timeout: float = 10.0) -> Optional[Client]:
    """Build a Twilio client, or return None when credentials are missing."""
    if not account_sid or not auth_token:
        log.warning("TWILIO_ACCOUNT_SID/TWILIO_AUTH_TOKEN not set: outbound messages disabled")
        return None
    http_client = BaseUrlHttpClient(timeout=timeout, api_base_url=api_base_url)
    client = Client(account_sid, auth_token, http_client=http_client)
    if api_base_url:
        client.edge = client.region = None  # edge/region rewrite host names; the base URL wins
    return client


@dataclass
class SendResult:
    """The outcome of one send attempt."""

    sid: Optional[str] = None
    status: Optional[str] = None
    num_segments: Optional[int] = None
    error_code: Optional[int] = None
    error_message: Optional[str] = None
    retryable: bool = False
    ambiguous: bool = False  # the request may have reached Twilio (read timeout, reset)

    @property
    def ok(self) -> bool:
        """Tell whether Twilio accepted the message."""
        return self.sid is not None and self.error_code is None and not self.retryable


def _int_or_none(value) -> Optional[int]:
    """Convert Twilio's numeric strings to int."""
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def is_retryable(http_status: Optional[int], code: Optional[int]) -> bool:
    """Tell whether a Twilio error is worth retrying later."""
    return http_status == 429 or code == 20429 or (http_status is not None and http_status >= 500)


def _maybe_delivered(exc: requests.RequestException) -> bool:
    """Tell whether Twilio may have received the request although we got no answer."""
    if isinstance(exc, requests.ConnectTimeout):
        return False
    if isinstance(exc, requests.ConnectionError) and "refused" in str(exc).lower():
        return False
    return isinstance(exc, (requests.Timeout, requests.ConnectionError))


def message_kwargs(*, to: str, body: Optional[str] = None, from_: Optional[str] = None,
                   messaging_service_sid: Optional[str] = None, content_sid: Optional[str] = None,
                   content_variables: Optional[dict] = None,
                   status_callback: Optional[str] = None) -> dict:
    """Return the arguments of `messages.create` for one message (the unset ones left out)."""
    kwargs = {"to": to, "body": body, "from_": from_,
              "messaging_service_sid": messaging_service_sid, "content_sid": content_sid,
              "status_callback": status_callback}
    if content_variables is not None:
        kwargs["content_variables"] = json.dumps(content_variables, ensure_ascii=False)
    return {k: v for k, v in kwargs.items() if v is not None}


def refused(exc: TwilioException, to: str) -> SendResult:
    """Return the result of a send the `twilio` library raised `exc` for (Twilio said no)."""
    if isinstance(exc, (TwilioRestException, TwilioServiceException)):
        code = _int_or_none(exc.code)
        if isinstance(exc, TwilioRestException):
            message = _ERROR_PREFIX.sub("", str(exc.msg or ""))
        else:
            message = exc.detail or exc.title
        log.warning("Twilio refused message to %s: HTTP %s code %s %s", to, exc.status, code, message)
        return SendResult(error_code=code, error_message=message,
                          retryable=is_retryable(exc.status, code))
    log.error("Twilio client error sending to %s: %s", to, exc)  # misuse, e.g. no credentials
    return SendResult(error_message=str(exc), retryable=False)


def unreachable(exc: Exception, to: str, ambiguous: bool) -> SendResult:
    """Return the result of a send that got no answer (`ambiguous`: Twilio may have it)."""
    log.warning("Twilio unreachable sending to %s: %s", to, exc)
    return SendResult(error_message=f"{type(exc).__name__}: {exc}", retryable=True,
                      ambiguous=ambiguous)


def accepted(msg) -> SendResult:
    """Return the result of a message Twilio answered with its record."""
    return SendResult(sid=msg.sid, status=msg.status, num_segments=_int_or_none(msg.num_segments),
                      error_code=_int_or_none(msg.error_code), error_message=msg.error_message)


def send_message(client: Client, **message) -> SendResult:
    """Send one message (message_kwargs' arguments); report failures in the result, never raise."""
    kwargs = message_kwargs(**message)
    try:
        msg = client.messages.create(**kwargs)
    except TwilioException as exc:
        return refused(exc, kwargs["to"])
    except requests.RequestException as exc:  # connection refused/reset, DNS, timeouts
        return unreachable(exc, kwargs["to"], _maybe_delivered(exc))
    return accepted(msg)

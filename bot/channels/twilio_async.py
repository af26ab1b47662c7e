"""Outbound Twilio REST access on asyncio: the sender's way to keep many sends in flight.

The `twilio` library still builds every request and raises its own errors
(`messages.create_async`); aiohttp carries the requests. One event loop with
one pooled aiohttp session holds all of a sender's calls in flight, which costs
far less CPU a message than a thread and a `requests` session per call in
flight (bench/broadcast.py shows both). Errors map to the same SendResult as
bot/channels/twilio.py, including which failures may have reached Twilio.
"""
from __future__ import annotations

import asyncio
from typing import Optional

import aiohttp
from twilio.base.exceptions import TwilioException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from bot.channels.twilio import (BaseUrl, SendResult, accepted, message_kwargs,
                                 refused, unreachable)


class AsyncBaseUrlHttpClient(BaseUrl, AsyncTwilioHttpClient):
    """Send Twilio requests on aiohttp with connect and read timeouts, optionally to another base URL.

    Create it inside the event loop that uses it (aiohttp binds its session to that loop).
    """

    def __init__(self, timeout: float = 10.0, api_base_url: Optional[str] = None):
        """Create the client; `api_base_url` replaces every https://*.twilio.com origin."""
        super().__init__(pool_connections=False, timeout=timeout)
        self.use_base_url(api_base_url)
        # As the requests client: connect and read each within `timeout`; a local fake is never
        # reached through a proxy (trust_env off), and real Twilio only as the environment says.
        self.session = aiohttp.ClientSession(
            trust_env=not self.is_local, timeout=aiohttp.ClientTimeout(connect=timeout, sock_read=timeout),
            connector=aiohttp.TCPConnector(limit=0))

    async def request(self, method: str, url: str, params=None, data=None, headers=None,
                      auth=None, timeout=None, allow_redirects: bool = False) -> Response:
        """Make the request against the rewritten URL and return the library's Response."""
        headers = dict(headers or {})
        if auth is not None:
            headers["Authorization"] = aiohttp.encode_basic_auth(auth[0], auth[1])
        kwargs = {"params": params, "data": data, "headers": headers,
                  "allow_redirects": allow_redirects}
        if timeout is not None:
            kwargs["timeout"] = aiohttp.ClientTimeout(connect=timeout, sock_read=timeout)
        async with self.session.request(method.upper(), self.rewrite(url), **kwargs) as response:
            return Response(response.status, await response.text(), response.headers)


def build_async_client(account_sid: Optional[str], auth_token: Optional[str],
                       api_base_url: Optional[str] = None, timeout: float = 10.0) -> Optional[Client]:
    """Build a Twilio client for `create_async` (in the running loop), or None without credentials."""
    if not account_sid or not auth_token:
        return None
    client = Client(account_sid, auth_token,
                    http_client=AsyncBaseUrlHttpClient(timeout=timeout, api_base_url=api_base_url))
    if api_base_url:
        client.edge = client.region = None  # edge/region rewrite host names; the base URL wins
    return client


async def close_async_client(client: Optional[Client]) -> None:
    """Close the client's aiohttp session (in the loop that created it)."""
    if client is not None:
        await client.http_client.session.close()


def _maybe_delivered(exc: Exception) -> bool:
    """Tell whether Twilio may have received the request although we got no answer."""
    if isinstance(exc, (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError)):
        return False  # never connected: refused, DNS, connect timeout
    return True  # read timeout, reset, disconnect while waiting for the answer


async def send_message_async(client: Client, **message) -> SendResult:
    """Send one message (message_kwargs' arguments); report failures in the result, never raise."""
    kwargs = message_kwargs(**message)
    try:
        msg = await client.messages.create_async(**kwargs)
    except TwilioException as exc:
        return refused(exc, kwargs["to"])
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        return unreachable(exc, kwargs["to"], _maybe_delivered(exc))
    return accepted(msg)

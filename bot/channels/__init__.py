"""Channels: how a reply is written and sent on each way of reaching a contact.

A registry of channel types, each with its own `send()`: SMS (GSM-7, a long code
or a Messaging Service), WhatsApp (full Unicode, `whatsapp:` addresses) and the
chat command's terminal. Beside it: twilio.py (the REST client), webhooks.py
(inbound messages and status callbacks) and phones.py (E.164 and addresses).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from flask import Flask

from bot.channels.twilio import SendResult, send_message
from bot.channels.twilio_async import send_message_async
from bot.settings import Settings
from flows.gsm7 import to_gsm7


@dataclass(frozen=True)
class Channel:
    """One way to reach a contact: its address form, its text rewriting and how it sends."""

    name: str
    render: Callable[[str], str] = str
    prefix: str = ""

    def address(self, phone: str) -> str:
        """Return the Twilio `To`/`From` form of an E.164 `phone` on this channel."""
        return f"{self.prefix}{phone}"

    def sender(self, settings: Settings) -> dict:
        """Return the Twilio `from_` or `messaging_service_sid` argument ({}: cannot send)."""
        return {}

    def message(self, client, settings: Settings, phone: str, body: str | None,
                status_callback: str | None = None, content_sid: str | None = None,
                content_variables: dict | None = None) -> dict | SendResult:
        """Return send_message's arguments for `body` (or a template), or why it cannot be sent."""
        sender = self.sender(settings)
        if client is None or not sender:
            return SendResult(sid=None, status="failed", num_segments=None, error_code=None,
                              error_message=f"outbound {self.name} not configured "
                                            "(Twilio credentials or sender missing)",
                              retryable=False)
        if content_sid:
            return dict(to=self.address(phone), content_sid=content_sid,
                        content_variables=content_variables or {},
                        status_callback=status_callback, **sender)
        return dict(to=self.address(phone), body=self.render(body),
                    status_callback=status_callback, **sender)

    def send(self, client, settings: Settings, phone: str, body: str | None,
             status_callback: str | None = None, content_sid: str | None = None,
             content_variables: dict | None = None) -> SendResult:
        """Send `body` (or an approved template) to `phone` through Twilio."""
        message = self.message(client, settings, phone, body, status_callback, content_sid,
                               content_variables)
        return message if isinstance(message, SendResult) else send_message(client, **message)

    async def send_async(self, client, settings: Settings, phone: str, body: str | None,
                         status_callback: str | None = None, content_sid: str | None = None,
                         content_variables: dict | None = None) -> SendResult:
        """Send like `send`, with a client built by bot.channels.twilio_async."""
        message = self.message(client, settings, phone, body, status_callback, content_sid,
                               content_variables)
        if isinstance(message, SendResult):
            return message
        return await send_message_async(client, **message)


class SMS(Channel):
    """SMS: GSM-7 text (160 characters a segment), from a Messaging Service or a number."""

    def sender(self, settings: Settings) -> dict:
        if settings.twilio_messaging_service_sid:
            return {"messaging_service_sid": settings.twilio_messaging_service_sid}
        return {"from_": settings.twilio_sms_from} if settings.twilio_sms_from else {}


class WhatsApp(Channel):
    """WhatsApp: full Unicode, `whatsapp:` addresses, from TWILIO_WHATSAPP_FROM."""

    def sender(self, settings: Settings) -> dict:
        return {"from_": settings.twilio_whatsapp_from} if settings.twilio_whatsapp_from else {}


REGISTRY = {
    "sms": SMS("sms", to_gsm7),
    "whatsapp": WhatsApp("whatsapp", str, "whatsapp:"),
    "console": Channel("console", str),  # the chat command's terminal: never through Twilio
}


def get(name: str) -> Channel:
    """Return the channel called `name`."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown channel {name!r}; known: {', '.join(REGISTRY)}") from None


def send(client, settings: Settings, channel_name: str, phone: str, body: str | None,
         status_callback: str | None = None, content_sid: str | None = None,
         content_variables: dict | None = None) -> SendResult:
    """Send `body` (or an approved template) to `phone` on a channel through Twilio."""
    return get(channel_name).send(client, settings, phone, body, status_callback,
                                  content_sid=content_sid, content_variables=content_variables)


def init_app(app: Flask) -> None:
    """Register Twilio's webhooks and give the engine WhatsApp buttons and lists."""
    # Imported here, not at the top: the webhooks need the engine, which imports this registry.
    from bot.channels import webhooks
    from bot.channels.interactive import Interactive
    from bot.services import services

    app.register_blueprint(webhooks.bp)
    services(app).engine.interactive = Interactive(lambda: services(app))

"""Channel types as small plugins: how a reply is written and sent on each channel."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from flows.gsm7 import to_gsm7
from bot.settings import Settings
from bot.channels.twilio import SendResult, send_message


@dataclass(frozen=True)
class Channel:
    """One way to reach a contact: its Twilio address form, text rewriting and sender."""

    name: str
    render: Callable[[str], str]
    prefix: str = ""

    def address(self, phone: str) -> str:
        """Return the Twilio `To`/`From` form of an E.164 `phone` on this channel."""
        return f"{self.prefix}{phone}"

    def sender(self, settings: Settings) -> dict:
        """Return the `from_` or `messaging_service_sid` argument for this channel."""
        if self.name == "whatsapp":
            return {"from_": settings.twilio_whatsapp_from} if settings.twilio_whatsapp_from else {}
        if settings.twilio_messaging_service_sid:
            return {"messaging_service_sid": settings.twilio_messaging_service_sid}
        return {"from_": settings.twilio_sms_from} if settings.twilio_sms_from else {}


REGISTRY = {
    "sms": Channel("sms", to_gsm7),                     # GSM-7: 160 characters a segment
    "whatsapp": Channel("whatsapp", str, "whatsapp:"),  # full Unicode
    "console": Channel("console", str),                 # the chat command's own terminal
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
    channel = get(channel_name)
    sender = channel.sender(settings)
    if client is None or not sender:
        return SendResult(sid=None, status="failed", num_segments=None, error_code=None,
                          error_message=f"outbound {channel.name} not configured "
                                        "(Twilio credentials or sender missing)", retryable=False)
    if content_sid:
        return send_message(client, to=channel.address(phone), content_sid=content_sid,
                            content_variables=content_variables or {},
                            status_callback=status_callback, **sender)
    return send_message(client, to=channel.address(phone), body=channel.render(body),
                        status_callback=status_callback, **sender)

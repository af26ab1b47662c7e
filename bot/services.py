"""Build and hold the app's long-lived services: database, NLU client, engine."""
from __future__ import annotations

from datetime import timedelta
from functools import cached_property

from flask import Flask, current_app

from bot import channels
from bot.channels.twilio import build_client
from bot.channels.twilio_async import build_async_client
from bot.conversations.engine import Engine
from bot.db import Database
from bot.monitoring import metrics
from bot.monitoring.nlu import MeasuredRasaClient
from bot.settings import Settings
from nlu.classifier import Classifier
from bot.privacy.suppression import suppression_key


class Services:
    """The app's database, classifier and engine, built once per app."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.db = Database(settings.database_url)
        self.nlu = MeasuredRasaClient(settings.nlu_url, timeout=settings.nlu_timeout,
                                      token=settings.nlu_token)
        self.classifier = Classifier(self.nlu, min_confidence=settings.nlu_min_confidence)
        self.engine = Engine(self.db, self.classifier, max_chars=settings.max_inbound_chars,
                             conversation_ttl=timedelta(minutes=settings.conversation_ttl_minutes),
                             countries=settings.phone_countries,
                             suppression_key=suppression_key(settings))

    @cached_property
    def twilio(self):
        """Return the Twilio REST client (None without credentials), built on first use."""
        return self.new_twilio_client()

    def new_twilio_client(self):
        """Return a new Twilio REST client with its own pooled HTTP session (one per thread)."""
        s = self.settings
        return build_client(s.twilio_account_sid, s.twilio_auth_token,
                            api_base_url=s.twilio_api_base_url, timeout=s.twilio_timeout)

    def new_async_twilio_client(self):
        """Return a new Twilio client for create_async (build it inside the loop that uses it)."""
        s = self.settings
        return build_async_client(s.twilio_account_sid, s.twilio_auth_token,
                                  api_base_url=s.twilio_api_base_url, timeout=s.twilio_timeout)

    async def send_async(self, channel: str, phone: str, body: str | None,
                         status_callback: str | None = None, content_sid: str | None = None,
                         content_variables: dict | None = None, client=None):
        """Send like `send`, on asyncio with a client from new_async_twilio_client."""
        return metrics.observe_send(channel, await channels.get(channel).send_async(
            client, self.settings, phone, body, status_callback,
            content_sid=content_sid, content_variables=content_variables))

    def send(self, channel: str, phone: str, body: str | None, status_callback: str | None = None,
             content_sid: str | None = None, content_variables: dict | None = None, client=None):
        """Send one message through Twilio on `channel` (the outbox's single way out)."""
        return metrics.observe_send(channel, channels.send(
            client or self.twilio, self.settings, channel, phone, body, status_callback,
            content_sid=content_sid, content_variables=content_variables))


def init_app(app: Flask) -> None:
    app.extensions["chaski"] = Services(app.config["CHASKI"])


def services(app: Flask | None = None) -> Services:
    """Return the services of `app` (the current app by default)."""
    return (app or current_app).extensions["chaski"]

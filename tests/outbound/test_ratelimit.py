"""The sender's rate limit: SMS cost their segments, WhatsApp messages cost one; no real time."""
from __future__ import annotations

import threading
import time

import pytest
from twilio.rest import Client

from flows.gsm7 import segment_count
from bot.outbound.ratelimit import JITTER_MARGIN, RateLimiter, from_settings
from bot.services import services
from bot.channels.twilio import BaseUrlHttpClient
from bot.channels.twilio_async import AsyncBaseUrlHttpClient
from bot.outbound.sender import Sender
from bot.settings import from_env
from tests.fakes.outbox import NOON, add_contacts, outbox_app
from tests.fakes.twilio_api import FAKE_ACCOUNT_SID, FAKE_AUTH_TOKEN
from tests.outbound.test_sender import queue

THREE_SEGMENTS = "Helada fuerte esta noche en las partes altas. " * 8  # 368 GSM-7 characters
ACCENTED = "Mañana habrá helada en la sierra: cubra sus cultivos y abrigue a sus animales, " \
           "riegue por la tarde."  # á is not GSM-7: sent rewritten, so one segment


class FakeClock:
    """A clock that only moves when the limiter sleeps."""

    def __init__(self):
        self.now, self.slept = 0.0, []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def limiter(clock: FakeClock, units: dict | None = None, **rates) -> RateLimiter:
    return RateLimiter(rates, clock=lambda: clock.now, sleep=clock.sleep, units=units)


def test_a_three_segment_sms_costs_three_tokens():
    assert segment_count(THREE_SEGMENTS) == 3
    clock = FakeClock()
    sms = limiter(clock, {"sms": "segments"}, sms=1.0)
    for body in ("Hola", THREE_SEGMENTS, "Hola", "Hola"):
        sms.wait("sms", sms.cost("sms", body))
    # 1 segment at t=0, 3 at t=1, then the next one waits until t=4 and t=5.
    assert clock.slept == [1.0, 3.0, 1.0] and clock.now == 5.0


def test_the_cost_is_counted_on_the_text_as_sent():
    sms = RateLimiter({"sms": 1.0}, units={"sms": "segments"})
    assert segment_count(ACCENTED) == 2  # as written: UCS-2, 70 characters a segment
    assert sms.cost("sms", ACCENTED) == 1  # as sent: rewritten to GSM-7
    assert sms.cost("sms", None) == 1  # a template


def test_counting_messages_and_whatsapp_cost_one_each():
    clock = FakeClock()
    mixed = limiter(clock, {"sms": "messages"}, sms=2.0, whatsapp=4.0)
    assert mixed.cost("sms", THREE_SEGMENTS) == mixed.cost("whatsapp", THREE_SEGMENTS) == 1
    for _ in range(3):
        mixed.wait("sms", mixed.cost("sms", THREE_SEGMENTS))
    assert clock.now == 1.0  # 3 messages at 2/s: 2 gaps of 0.5 s
    for _ in range(5):
        mixed.wait("whatsapp", mixed.cost("whatsapp", THREE_SEGMENTS))
    assert clock.now == 2.0  # 5 at 4/s: 4 gaps of 0.25 s


def test_no_limit_never_sleeps():
    clock = FakeClock()
    free = limiter(clock, {"sms": "segments"}, sms=0)
    for _ in range(100):
        free.wait("sms", 3)
    assert clock.slept == []


def test_settings_keep_their_names_and_sms_counts_segments_by_default():
    default = from_settings(from_env({"OUTBOX_RATE_SMS": "1"}))
    assert default.rates == {"sms": 1.0, "whatsapp": 20.0}
    assert default.cost("sms", THREE_SEGMENTS) == 3 and default.messages_per_second("sms") == 1 / 3
    old_way = from_settings(from_env({"OUTBOX_RATE_SMS": "1",
                                      "OUTBOX_RATE_SMS_COUNTS": "Messages"}))
    assert old_way.cost("sms", THREE_SEGMENTS) == 1 and old_way.messages_per_second("sms") == 1
    with pytest.raises(ValueError, match="segments or messages"):
        from_settings(from_env({"OUTBOX_RATE_SMS_COUNTS": "bytes"}))


def test_the_sender_spends_each_sms_segments(database_url, fake_twilio):
    app = outbox_app(database_url, fake_twilio, OUTBOX_RATE_SMS=1)
    clock = FakeClock()
    db = services(app).db
    with db.session() as s:
        long_ones, short_ones = add_contacts(s, 2), add_contacts(s, 2, start=910_000_100)
    queue(db, long_ones, body=THREE_SEGMENTS, tag="long")
    queue(db, short_ones, body="Hola", tag="short")
    # One send at a time: threads sharing a fake clock would add up their sleeps.
    sender = Sender(services(app), clock=lambda: clock.now, sleep=clock.sleep, concurrency=1)
    assert sender.run_once(NOON) == {"sent": 4}
    assert sorted(m["body"][:4] for m in fake_twilio.messages) == ["Hela", "Hela", "Hola", "Hola"]
    # The last send waits for 3 + 3 + 1 segments before it, and for the one before it to be
    # out of the sender's window (one second plus JITTER_MARGIN).
    assert clock.now == pytest.approx(3 + 3 + 1 + JITTER_MARGIN)
    db.dispose()


@pytest.mark.parametrize("http", ["async", "threads"])
def test_ten_segments_a_second_hold_in_every_window_under_concurrency(database_url, fake_twilio,
                                                                       monkeypatch, http):
    """Real clock, 8 sends in flight: no second of requests the twilio library sends exceeds 10 segments.

    Each request is timed as the library hands it to its HTTP client (what the limiter
    controls; the fake's own arrival times add its server's thread scheduling on a busy machine).
    """
    app = outbox_app(database_url, fake_twilio, OUTBOX_RATE_SMS=10, OUTBOX_CONCURRENCY=8,
                     OUTBOX_HTTP=http)
    sent, lock = [], threading.Lock()

    def timed(method, kwargs):
        if method == "POST":
            with lock:
                sent.append((time.monotonic(), segment_count(kwargs["data"]["Body"])))

    class Timed(BaseUrlHttpClient):
        def request(self, method, url, *args, **kwargs):
            timed(method, kwargs)
            return super().request(method, url, *args, **kwargs)

    class TimedAsync(AsyncBaseUrlHttpClient):
        async def request(self, method, url, *args, **kwargs):
            timed(method, kwargs)
            return await super().request(method, url, *args, **kwargs)

    svc = services(app)
    monkeypatch.setattr(svc, "new_twilio_client", lambda: Client(
        FAKE_ACCOUNT_SID, FAKE_AUTH_TOKEN, http_client=Timed(api_base_url=fake_twilio.base_url)))
    monkeypatch.setattr(svc, "new_async_twilio_client", lambda: Client(
        FAKE_ACCOUNT_SID, FAKE_AUTH_TOKEN, http_client=TimedAsync(api_base_url=fake_twilio.base_url)))
    db = svc.db
    with db.session() as s:
        short_ones, long_ones = add_contacts(s, 16), add_contacts(s, 4, start=910_000_100)
    queue(db, short_ones, body="Hola", tag="short")
    queue(db, long_ones, body=THREE_SEGMENTS, tag="long")
    fake_twilio.reset()
    sender = Sender(svc)
    try:
        assert sender.concurrency == 8
        assert sender.run_once(NOON) == {"sent": 20}
    finally:
        sender.close()
    assert len(fake_twilio.messages) == 20
    sent.sort()
    assert sum(n for _at, n in sent) == 16 + 4 * 3
    busiest = max(sum(n for at, n in sent if start <= at < start + 1.0) for start, _n in sent)
    assert busiest <= 10
    assert sent[-1][0] - sent[0][0] >= (28 - 10) / 10  # and it did not wait much longer
    db.dispose()

"""Per-channel send rate limits for the outbox sender, in messages or SMS segments.

Twilio's ceiling for an SMS long code is about one *segment* a second: a
3-segment SMS uses three seconds of it. So the SMS limit counts segments by
default (OUTBOX_RATE_SMS is then segments per second; OUTBOX_RATE_SMS_COUNTS=
messages brings back one token per message). WhatsApp counts messages.
"""
from __future__ import annotations

import threading
import time

from bot import channels
from bot.monitoring import metrics
from flows.gsm7 import segment_count

UNITS = ("segments", "messages")
# Claiming: how many segments an SMS is assumed to have when sizing a batch.
ASSUMED_SEGMENTS = 3


class RateLimiter:
    """Space sends on each channel to at most `rate` tokens per second (0: no limit).

    A send of cost n reserves n / rate seconds: the next send on that channel
    waits until that time has passed. Thread-safe (one sender's worker threads
    share it).
    """

    def __init__(self, rates: dict[str, float], clock=time.monotonic, sleep=time.sleep,
                 units: dict[str, str] | None = None):
        self.rates, self.clock, self.sleep = rates, clock, sleep
        self.units = {channel: "messages" for channel in rates} | (units or {})
        unknown = set(self.units.values()) - set(UNITS)
        if unknown:
            raise ValueError(f"a rate counts segments or messages, not {sorted(unknown)}")
        self._next: dict[str, float] = {}
        self._lock = threading.Lock()

    def cost(self, channel: str, body: str | None) -> int:
        """Return the tokens a send of `body` on `channel` takes (its segments, or 1)."""
        if self.units.get(channel) != "segments" or not body:
            return 1
        return max(1, segment_count(channels.get(channel).render(body)))

    def wait(self, channel: str, cost: int = 1) -> None:
        """Block until `channel` may send something of `cost` tokens, and reserve them."""
        rate = self.rates.get(channel) or 0
        if rate <= 0:
            return
        with self._lock:
            now = self.clock()
            slot = max(self._next.get(channel, now), now)
            self._next[channel] = slot + cost / rate
        if slot > now:
            metrics.observe_rate_wait(channel, slot - now)
            self.sleep(slot - now)

    def messages_per_second(self, channel: str) -> float:
        """Return the channel's rate in messages (0: no limit), assuming long SMS when needed."""
        rate = self.rates.get(channel) or 0
        return rate / ASSUMED_SEGMENTS if self.units.get(channel) == "segments" else rate


def from_settings(settings, clock=time.monotonic, sleep=time.sleep) -> RateLimiter:
    """Return the sender's limiter from OUTBOX_RATE_SMS/_WHATSAPP and OUTBOX_RATE_SMS_COUNTS."""
    return RateLimiter({"sms": settings.outbox_rate_sms, "whatsapp": settings.outbox_rate_whatsapp},
                       clock, sleep, units={"sms": settings.outbox_rate_sms_counts})

"""Per-channel send rate limits for the outbox sender, in messages or SMS segments.

Twilio's ceiling for an SMS long code is about one *segment* a second: a
3-segment SMS uses three seconds of it. So the SMS limit counts segments by
default (OUTBOX_RATE_SMS is then segments per second; OUTBOX_RATE_SMS_COUNTS=
messages brings back one token per message). WhatsApp counts messages.
"""
from __future__ import annotations

import asyncio
import threading
import time
from collections import deque

from bot import channels
from bot.monitoring import metrics
from flows.gsm7 import segment_count

UNITS = ("segments", "messages")
# Claiming: how many segments an SMS is assumed to have when sizing a batch.
ASSUMED_SEGMENTS = 3


# The window is this much longer than a second: what Twilio counts is when a request
# arrives, a little after our send starts, and threads do not start exactly on time.
JITTER_MARGIN = 0.1


class RateLimiter:
    """Keep each channel to at most `rate` tokens in any one second (0: no limit).

    Two rules, both under one lock, so any number of threads may share a limiter:
    sends are spaced (one of cost n keeps the next from starting for n / rate
    seconds), and a send starts only when the tokens started in the last `window`
    seconds, its own included, stay within `rate`. The second rule is
    what makes the limit exact for sends of several segments and under concurrency;
    a single send costing more than `rate` goes alone.
    """

    def __init__(self, rates: dict[str, float], clock=time.monotonic, sleep=time.sleep,
                 units: dict[str, str] | None = None, window: float = 1.0):
        self.rates, self.clock, self.sleep, self.window = rates, clock, sleep, window
        self.units = {channel: "messages" for channel in rates} | (units or {})
        unknown = set(self.units.values()) - set(UNITS)
        if unknown:
            raise ValueError(f"a rate counts segments or messages, not {sorted(unknown)}")
        self._next: dict[str, float] = {}
        self._started: dict[str, deque] = {}  # channel -> (start time, cost), oldest first
        self._lock = threading.Lock()

    def cost(self, channel: str, body: str | None) -> int:
        """Return the tokens a send of `body` on `channel` takes (its segments, or 1)."""
        if self.units.get(channel) != "segments" or not body:
            return 1
        return max(1, segment_count(channels.get(channel).render(body)))

    def wait(self, channel: str, cost: int = 1) -> None:
        """Block until `channel` may send something of `cost` tokens, and count them as started.

        A send is counted when it really starts (after any sleep, which can overrun), not
        when it was due: a thread that wakes late never lets the next ones crowd its window.
        """
        while (pause := self._take(channel, cost)) > 0:
            self.sleep(pause)

    async def wait_async(self, channel: str, cost: int = 1) -> None:
        """Wait like `wait`, in an asyncio task: the sleep lets the loop's other sends go on."""
        while (pause := self._take(channel, cost)) > 0:
            await asyncio.sleep(pause)

    def _take(self, channel: str, cost: int) -> float:
        """Count the send as started and return 0 if it may start now, else the seconds to wait."""
        rate = self.rates.get(channel) or 0
        if rate <= 0:
            return 0
        with self._lock:
            now = self.clock()
            slot = self._earliest(channel, rate, cost, now)
            if slot <= now:
                self._started[channel].append((now, cost))
                self._next[channel] = now + cost / rate
                return 0
        metrics.observe_rate_wait(channel, slot - now)
        return slot - now

    def _earliest(self, channel: str, rate: float, cost: int, now: float) -> float:
        """Return the earliest time a send of `cost` may start on `channel` (under the lock)."""
        slot = max(self._next.get(channel, now), now)
        started = self._started.setdefault(channel, deque())
        while started and started[0][0] <= now - self.window:
            started.popleft()
        used = sum(c for start, c in started if start > slot - self.window)
        for start, earlier in started:  # wait until enough of the window has passed
            if used + cost <= max(rate, cost):
                break
            if start > slot - self.window:
                slot, used = start + self.window, used - earlier
        return slot

    def messages_per_second(self, channel: str) -> float:
        """Return the channel's rate in messages (0: no limit), assuming long SMS when needed."""
        rate = self.rates.get(channel) or 0
        return rate / ASSUMED_SEGMENTS if self.units.get(channel) == "segments" else rate


def from_settings(settings, clock=time.monotonic, sleep=time.sleep) -> RateLimiter:
    """Return the sender's limiter from OUTBOX_RATE_SMS/_WHATSAPP and OUTBOX_RATE_SMS_COUNTS."""
    return RateLimiter({"sms": settings.outbox_rate_sms, "whatsapp": settings.outbox_rate_whatsapp},
                       clock, sleep, units={"sms": settings.outbox_rate_sms_counts},
                       window=1.0 + JITTER_MARGIN)

"""One asyncio event loop in a thread of its own, holding a sender's Twilio calls in flight.

The sender's main thread hands it coroutines (`submit`) and waits on the
concurrent futures it gets back, exactly as it waits on a thread pool's. The
loop owns the aiohttp-backed Twilio client (bot/channels/twilio_async.py) and a
semaphore of OUTBOX_CONCURRENCY slots, so no more calls than that are in flight.
"""
from __future__ import annotations

import asyncio
import threading
from concurrent.futures import Future

from bot.channels.twilio_async import close_async_client


class SendLoop:
    """An event loop thread with one async Twilio client and `slots` calls in flight at most."""

    def __init__(self, new_client, slots: int, name: str = "send-loop"):
        """`new_client()` builds the client; it runs inside the loop (aiohttp binds to it)."""
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self._thread.start()
        self._closed = False
        self.client, self.slots = self.submit(self._setup(new_client, slots)).result()

    @staticmethod
    async def _setup(new_client, slots: int):
        return new_client(), asyncio.Semaphore(max(1, slots))

    def submit(self, coroutine) -> Future:
        """Run `coroutine` in the loop; return a concurrent.futures.Future of its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop)

    def close(self) -> None:
        """Close the client, stop the loop and wait for its thread (at most once)."""
        if self._closed:
            return
        self._closed = True
        if threading.current_thread() is self._thread:  # the loop cannot wait for itself
            self.loop.create_task(self._shut())
            return
        try:
            self.submit(close_async_client(self.client)).result(timeout=10)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=10)
            self.loop.close()

    async def _shut(self) -> None:
        await close_async_client(self.client)
        self.loop.stop()

"""The sender's concurrent delivery: Twilio calls in flight at once, answers recorded together.

A Sender (bot/outbound/sender.py) claims a batch, then deliver_batch reads and checks
its rows in one query and hands each send to one of `concurrency` threads. Each
thread has its own Twilio client, with its own pooled HTTP session, so the network
waits overlap while the `twilio` library still builds every request and maps every
error. The rate limiter is shared and thread-safe. Nothing changes in the
exactly-once argument: every row was committed `sending` before any call, each
answer is recorded only while the claim holds, and a row whose send raised or
whose answer is lost stays `sending` until recovery asks Twilio.
"""
from __future__ import annotations

import logging
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from datetime import datetime, timedelta

from sqlalchemy import select, text

from bot.channels.twilio import OUTSIDE_WINDOW
from bot.outbound.policy import in_open_support
from bot.outbound.routing import not_sendable_reason
from models import Contact, ConversationState, OutboxMessage

log = logging.getLogger(__name__)


class ConcurrentDelivery:
    """Mixed into Sender: `concurrency` sends at a time, each thread with its own Twilio client."""

    _pool: ThreadPoolExecutor | None = None

    def close(self) -> None:
        """Stop the sending threads (those of a sender that is not used again)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def _client(self):
        """Return this thread's Twilio client: its own pooled HTTP session, reused."""
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = self.services.new_twilio_client()
            if client is not None:
                client.messages  # noqa: B018 - loads the Messages API modules now, not mid-send
        return client

    def deliver_batch(self, row_ids: list[int], fixed: datetime | None, conn) -> list[str]:
        """Send claimed rows `concurrency` at a time, each answer recorded as it comes; return outcomes.

        The rows are read and checked in one query, then each send runs in a thread of
        the pool (rate limit, half-lease check, Twilio call), and this thread records
        whatever answers have arrived, together, in one transaction each round.
        """
        now, started = fixed or self.now(), self.clock()
        outcomes, ready = [], []
        with self._session(conn) as s:
            found = s.execute(
                select(OutboxMessage, Contact, ConversationState.expires_at)
                .join(Contact, Contact.id == OutboxMessage.contact_id)
                .outerjoin(ConversationState, (ConversationState.contact_id == Contact.id)
                           & in_open_support(now))
                .where(OutboxMessage.id.in_(row_ids)).order_by(OutboxMessage.id)).all()
            outcomes += ["lost_claim"] * (len(row_ids) - len(found))
            for row, contact, open_support in found:
                if row.status != "sending" or row.claimed_by != self.name:
                    outcomes.append("lost_claim")
                    continue
                verdict = self._check(row, contact, open_support, now)
                plan = None if verdict else self._plan(s, row, contact, now)
                if plan == "no_template":
                    self._fail(row, OUTSIDE_WINDOW, not_sendable_reason(row, contact), now)
                    verdict = "failed"
                if verdict:
                    outcomes.append(verdict)
                else:
                    ready.append((row, contact.phone, plan))
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix=f"send-{self.name}")
        pending = {self._pool.submit(self._attempt, row, phone, plan, now, started)
                   for row, phone, plan in ready}
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            outcomes += self._record_all(done, fixed, conn)
        return outcomes

    def _attempt(self, row: OutboxMessage, phone: str, plan: str, now: datetime, started: float):
        """In a pool thread: wait for the rate limit, then send; return (row, result or None, plan)."""
        client = self._client()  # built before the wait: its first use is slow, and not rate-limited
        self.limiter.wait(row.channel, self.limiter.cost(row.channel, row.body if plan == "body"
                                                        else None))
        held = (now - row.claimed_at) + timedelta(seconds=self.clock() - started)
        if held > self.lease / 2:  # too close to the lease's end: another sender may take it over
            return row, None, plan
        result = self._send(row.channel, phone, row, plan, client)
        if result.error_code == OUTSIDE_WINDOW and plan == "body" and row.content_sid:
            plan = "template"  # our record of the last inbound was stale: use the template
            result = self._send(row.channel, phone, row, plan, client)
        return row, result, plan

    def _record_all(self, done, fixed: datetime | None, conn) -> list[str]:
        """Record the answers of finished sends in one transaction; return their outcomes."""
        now, outcomes, released = fixed or self.now(), [], []
        with self._session(conn) as s:
            if self.postgres:  # see the module docstring: a lost result is found again at Twilio
                s.execute(text("SET LOCAL synchronous_commit TO OFF"))
            for future in done:
                try:
                    row, result, plan = future.result()
                except Exception:  # noqa: BLE001 - the row stays in sending: settled after its lease
                    log.exception("sender %s: a send failed unexpectedly", self.name)
                    outcomes.append("error")
                    continue
                if result is None:
                    released.append(row.id)
                else:
                    outcomes.append(self._record(s, row, result, plan, now))
        return outcomes + [self._release(row_id, now, conn) for row_id in released]

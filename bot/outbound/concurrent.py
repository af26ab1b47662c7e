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
import weakref
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from datetime import datetime

from sqlalchemy import bindparam, func, select, text, update

from bot.channels.twilio import OUTSIDE_WINDOW
from bot.outbound.policy import in_open_support
from bot.outbound.routing import REPLY_SOURCE, not_sendable_reason
from bot.outbound.sendloop import SendLoop
from models import Contact, ConversationState, Message, OutboxMessage

log = logging.getLogger(__name__)
OUTBOX, MESSAGES = OutboxMessage.__table__, Message.__table__
# A round's accepted sends, recorded with one statement: each row only while our claim holds.
# A private reply's text is blanked once it is final (b_blank "" for those, NULL keeps the body).
RECORD_SENT = (update(OUTBOX)
               .where(OUTBOX.c.id == bindparam("b_id"), OUTBOX.c.status == "sending",
                      OUTBOX.c.claimed_by == bindparam("b_sender"))
               .values(status="sent", twilio_sid=bindparam("b_sid"), sent_as=bindparam("b_plan"),
                       sent_at=bindparam("b_now"), updated_at=bindparam("b_now"),
                       segments=bindparam("b_segments"), error_code=None, error_message=None,
                       body=func.coalesce(bindparam("b_blank"), OUTBOX.c.body)))


class ConcurrentDelivery:
    """Mixed into Sender: `concurrency` sends at a time, each thread with its own Twilio client."""

    _pool: ThreadPoolExecutor | None = None
    _loop: SendLoop | None = None

    def close(self) -> None:
        """Stop the sending threads or loop (those of a sender that is not used again)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        if self._loop is not None:
            self._loop.close()
            self._loop = None

    def _start(self, row: OutboxMessage, phone: str, plan: str, now: datetime, started: float):
        """Start one send, on the event loop (OUTBOX_HTTP=async) or a pool thread; return its Future."""
        if self.settings.outbox_http == "async":
            if self._loop is None:
                self._loop = SendLoop(self.services.new_async_twilio_client, self.concurrency,
                                      name=f"send-{self.name}")
                weakref.finalize(self, self._loop.close)  # a sender dropped without close()
            return self._loop.submit(self._attempt_async(row, phone, plan, now, started))
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix=f"send-{self.name}")
        return self._pool.submit(self._attempt, row, phone, plan, now, started)

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
        pending = {self._start(row, phone, plan, now, started) for row, phone, plan in ready}
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            outcomes += self._record_all(done, fixed, conn)
        return outcomes

    def _attempt(self, row: OutboxMessage, phone: str, plan: str, now: datetime, started: float):
        """In a pool thread: wait for the rate limit, then send; return (row, result or None, plan)."""
        client = self._client()  # built before the wait: its first use is slow, and not rate-limited
        self.limiter.wait(row.channel, self._cost(row, plan))
        if self._too_late(row, now, started):
            return row, None, plan
        result = self._send(row.channel, phone, row, plan, client)
        if self._stale_window(result, row, plan):
            plan = "template"
            result = self._send(row.channel, phone, row, plan, client)
        return row, result, plan

    async def _attempt_async(self, row: OutboxMessage, phone: str, plan: str, now: datetime,
                             started: float):
        """In the event loop: as `_attempt`, holding one of the loop's slots while it sends."""
        async with self._loop.slots:
            await self.limiter.wait_async(row.channel, self._cost(row, plan))
            if self._too_late(row, now, started):
                return row, None, plan
            result = await self._send_async(row.channel, phone, row, plan)
            if self._stale_window(result, row, plan):
                plan = "template"
                result = await self._send_async(row.channel, phone, row, plan)
            return row, result, plan

    async def _send_async(self, channel: str, phone: str, row: OutboxMessage, plan: str):
        return await self.services.send_async(channel, phone, client=self._loop.client,
                                              **self._message(row, plan))

    def _record_all(self, done, fixed: datetime | None, conn) -> list[str]:
        """Record the answers of finished sends in one transaction; return their outcomes."""
        now, outcomes, released = fixed or self.now(), [], []
        with self._session(conn) as s:
            if self.postgres:  # see the module docstring: a lost result is found again at Twilio
                s.execute(text("SET LOCAL synchronous_commit TO OFF"))
            accepted = []
            for future in done:
                try:
                    row, result, plan = future.result()
                except Exception:  # noqa: BLE001 - the row stays in sending: settled after its lease
                    log.exception("sender %s: a send failed unexpectedly", self.name)
                    outcomes.append("error")
                    continue
                if result is None:
                    released.append(row.id)
                elif result.ok:
                    accepted.append((row, result, plan))
                else:
                    outcomes.append(self._record(s, row, result, plan, now))
            if accepted:
                outcomes += self._record_accepted(s, accepted, now)
        return outcomes + [self._release(row_id, now, conn) for row_id in released]

    def _record_accepted(self, s, accepted: list, now: datetime) -> list[str]:
        """Record sends Twilio accepted, and log them, with one statement each; return outcomes.

        The same guard as one row at a time (status sending, claimed by us). When fewer
        rows than sent were updated, the rows holding our SIDs are the ones recorded.
        """
        connection = s.connection()
        result = connection.execute(RECORD_SENT, [
            dict(b_id=row.id, b_sender=self.name, b_sid=sent.sid, b_plan=plan, b_now=now,
                 b_segments=sent.num_segments, b_blank="" if row.private else None)
            for row, sent, plan in accepted])
        recorded = {row.id for row, _sent, _plan in accepted}
        if result.rowcount != len(accepted) or not connection.dialect.supports_sane_multi_rowcount:
            recorded = set(s.scalars(select(OutboxMessage.id).where(
                OutboxMessage.id.in_(recorded), OutboxMessage.status == "sent",
                OutboxMessage.twilio_sid.in_([sent.sid for _row, sent, _plan in accepted]))))
        logged = [dict(contact_id=row.contact_id, direction="out", channel=row.channel,
                       body=None if row.private else row.body, redacted=row.private,
                       twilio_sid=sent.sid, status=sent.status or "queued",
                       segments=sent.num_segments, flow=row.source, entities={},
                       created_at=now, updated_at=now)
                  for row, sent, _plan in accepted
                  if row.id in recorded and row.source != REPLY_SOURCE]  # the engine logged replies
        if logged:
            connection.execute(MESSAGES.insert(), logged)
        for row, _sent, _plan in accepted:
            if row.id not in recorded:  # another sender took the row over: it will ask Twilio
                log.warning("outbox row %s: lease lost before recording sent", row.id)
        return ["sent" if row.id in recorded else "lease_lost" for row, _sent, _plan in accepted]

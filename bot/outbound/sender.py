"""The outbox sender: claim due rows, send them through Twilio, record what happened.

Never twice, never lost — how:

* Claiming commits `status='sending'` (with `claimed_by`, `claimed_at`) BEFORE
  Twilio is called. On PostgreSQL the claim is ``SELECT ... FOR UPDATE SKIP
  LOCKED`` then ``UPDATE ... WHERE id IN (those) AND status='queued'`` in one
  transaction, so any number of senders share the work; on SQLite the UPDATE's
  ``status='queued'`` guard is atomic under SQLite's single writer.
* Each Twilio answer is committed at once (sent / queued again / failed). On
  PostgreSQL that commit does not wait for the disk (synchronous_commit off,
  for that transaction only): if the database itself crashes and loses it, the
  row is back in `sending` and is settled as below. The claim does wait: losing
  it could send a message twice.
* A row can stay in `sending` only if the sender died between the claim and
  that commit, or Twilio's answer never came (read timeout, reset connection):
  then we do not know whether Twilio accepted it. Such a row is never resent
  blindly: once its lease (OUTBOX_LEASE_SECONDS, longer than the HTTP timeout)
  has run out, a sender takes it over and asks Twilio's message list for an
  outbound-api message to that address created since the claim with the same
  body (or, for a template, any such message whose SID we do not know). Found:
  the row becomes `sent` with that SID. Not found: Twilio never got it, so it is
  queued again. Lookup failed: the row waits another lease. We chose this over
  "mark for manual review" because review loses messages in the common case (a
  crash before the request left) and resending duplicates them in the other.
  A sender that stalls between its claim and the request (a loaded machine, a
  long rate-limit wait) gives the row back unsent once half the lease is gone,
  so the takeover never races its request; and the worker threads of one
  sender process never take over each other's rows (they are alive, their
  requests may be in flight). The remaining gap: a request delayed on its way
  to Twilio longer than half the lease.
* Sends overlap (bot/outbound/concurrent.py): each worker keeps up to
  OUTBOX_CONCURRENCY Twilio requests in flight, each thread with its own client.
"""
from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
import uuid
from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from bot.channels.twilio import OPTED_OUT, OUTSIDE_WINDOW
from bot.outbound.concurrent import ConcurrentDelivery
from bot.outbound.outbox import stop_after_carrier_opt_out
from bot.outbound.policy import (in_open_support, in_quiet_hours, is_violence_topic, opted_out,
                                 quiet_hours_end)
from bot.outbound.ratelimit import RateLimiter, from_settings
from bot.outbound.recovery import recover
from bot.outbound.routing import REPLY_SOURCE, not_sendable_reason, plan as route
from models import Contact, ConversationState, Message, OutboxMessage, utcnow
from models.heartbeats import SENDER, beat

log = logging.getLogger(__name__)
MAX_BACKOFF = timedelta(hours=1)
HEARTBEAT_SECONDS = 10.0  # how often a running sender records it is alive (/healthz)


def run_workers(services, workers: int, once: bool = True, progress=None,
                stop=lambda: False, batch: int | None = None) -> dict:
    """Run `workers` senders in threads sharing one rate limiter; return their summed counts.

    `batch` (rows claimed at a time) overrides OUTBOX_BATCH for these senders only.
    """
    first = Sender(services, batch=batch)
    senders = [first] + [Sender(services, limiter=first.limiter, batch=batch)
                         for _ in range(workers - 1)]
    alive = {sender.name for sender in senders}  # none takes over a row a sibling is sending
    for sender in senders:
        sender.siblings = alive
    lock, totals, errors = threading.Lock(), {}, []

    def report(n):
        if progress:
            with lock:
                progress(n)

    def work(sender: Sender) -> None:
        try:
            counts = sender.drain(progress=report) if once else sender.run_forever(stop=stop)
        except Exception as exc:  # noqa: BLE001 - reported after the other workers finish
            log.exception("sender worker %s failed", sender.name)
            errors.append(exc)
            return
        with lock:
            for key, value in (counts or {}).items():
                totals[key] = totals.get(key, 0) + value

    threads = [threading.Thread(target=work, args=(sender,), name=f"sender-{i}", daemon=True)
               for i, sender in enumerate(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for sender in senders:
        sender.close()
    if errors:
        raise errors[0]
    return totals


class Sender(ConcurrentDelivery):
    """Send due outbox rows; several may run at once on PostgreSQL."""

    def __init__(self, services, *, name: str | None = None, clock=time.monotonic,
                 sleep=time.sleep, now=utcnow, limiter: RateLimiter | None = None,
                 batch: int | None = None, concurrency: int | None = None):
        """`concurrency` (OUTBOX_CONCURRENCY): Twilio requests in flight; 1 sends one by one."""
        s = services.settings
        self.services, self.db, self.settings = services, services.db, s
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.limiter = limiter or from_settings(s, clock, sleep)
        self.clock, self.sleep, self.now = clock, sleep, now
        self.lease = timedelta(seconds=s.outbox_lease_seconds)
        self.batch = batch or s.outbox_batch
        self.status_callback = f"{s.public_url}/webhooks/twilio/status" if s.public_url else None
        self.postgres = self.db.engine.dialect.name == "postgresql"
        self.concurrency = max(1, concurrency or s.outbox_concurrency)
        self._local = threading.local()  # each sending thread's own Twilio client
        self.siblings = {self.name}  # the live senders of this process (run_workers)

    # ---- the loop --------------------------------------------------------
    def run_once(self, now: datetime | None = None) -> dict:
        """Recover stale rows, then claim and send one batch; return counts."""
        fixed, now = now, now or self.now()
        counts: dict[str, int] = {}
        for outcome in recover(self, now):
            counts[outcome] = counts.get(outcome, 0) + 1
        claimed = self.claim(now, self._claim_limit())
        if not claimed:
            return counts
        with self.db.engine.connect() as conn:  # one connection for the batch: no pool round trips
            if self.concurrency > 1:
                outcomes = self.deliver_batch(claimed, fixed, conn)
            else:
                outcomes = [self.deliver(row_id, fixed or self.now(), conn) for row_id in claimed]
        for outcome in outcomes:
            counts[outcome] = counts.get(outcome, 0) + 1
        return counts

    def _claim_limit(self) -> int:
        """Claim no more than the slowest channel sends in a quarter of the lease.

        A claimed row must be sent well before its lease runs out, or another sender
        could take it over while we are about to send it.
        """
        rates = [r for r in map(self.limiter.messages_per_second, self.limiter.rates) if r > 0]
        if not rates:
            return self.batch
        return max(1, min(self.batch, int(min(rates) * self.lease.total_seconds() / 4)))

    @contextmanager
    def _session(self, conn=None):
        """Yield a session on `conn` (or the pool) that commits on success."""
        if conn is None:
            with self.db.session() as s:
                yield s
            return
        s = Session(bind=conn, expire_on_commit=False)
        try:
            yield s
            s.commit()
        except BaseException:
            s.rollback()
            raise
        finally:
            s.close()

    def drain(self, progress=None, fixed_now: datetime | None = None) -> dict:
        """Send everything due now, waiting out leases of rows other senders left; return counts."""
        started = self.now()
        totals: dict[str, int] = {}
        while True:
            counts = self.run_once(fixed_now)
            for key, value in counts.items():
                totals[key] = totals.get(key, 0) + value
            if progress and counts:
                progress(sum(counts.values()))
            if counts:
                continue
            expiry = self._pending_lease_expiry(started)
            if expiry is None:
                return totals
            self.sleep(max(0.05, min(1.0, (expiry - self.now()).total_seconds())))

    def run_forever(self, idle_seconds: float = 1.0, stop=lambda: False) -> None:
        """Run until `stop()` is true, sleeping when nothing is due."""
        last_beat = None
        while not stop():
            try:
                if last_beat is None or self.clock() - last_beat >= HEARTBEAT_SECONDS:
                    with self.db.session() as s:
                        beat(s, SENDER, self.now())
                    last_beat = self.clock()
                counts = self.run_once()
            except Exception:  # noqa: BLE001 - a database or network hiccup must not end the loop
                log.exception("sender %s: round failed; trying again", self.name)
                self.sleep(idle_seconds * 5)
                continue
            if counts:
                log.info("sender %s: %s", self.name, counts)
            else:
                self.sleep(idle_seconds)

    def _pending_lease_expiry(self, started: datetime) -> datetime | None:
        """Return when the earliest lease taken before `started` runs out, if any remains."""
        with self.db.session() as s:
            claimed = s.scalar(select(OutboxMessage.claimed_at)
                               .where(OutboxMessage.status == "sending",
                                      OutboxMessage.claimed_at < started)
                               .order_by(OutboxMessage.claimed_at).limit(1))
        return None if claimed is None else claimed + self.lease

    # ---- claiming --------------------------------------------------------
    def claim(self, now: datetime, limit: int) -> list[int]:
        """Mark up to `limit` due rows as ours and `sending`, committed; return their ids."""
        due = (select(OutboxMessage.id)
               .where(OutboxMessage.status == "queued", OutboxMessage.next_attempt_at <= now)
               .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(limit))
        if self.postgres:
            # Lock first, update second: inside `UPDATE ... WHERE id IN (SELECT ... SKIP
            # LOCKED LIMIT n)` PostgreSQL may run the subquery again and claim far more.
            due = due.with_for_update(skip_locked=True)
        with self.db.session() as s:
            ids = s.scalars(due).all()
            if not ids:
                return []
            claimed = s.scalars(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(ids), OutboxMessage.status == "queued")
                .values(status="sending", claimed_by=self.name, claimed_at=now,
                        attempts=OutboxMessage.attempts + 1, updated_at=now)
                .returning(OutboxMessage.id)
                .execution_options(synchronize_session=False)).all()
        return sorted(claimed)

    # ---- one message -----------------------------------------------------
    def deliver(self, row_id: int, now: datetime, conn=None) -> str:
        """Send one claimed row (unless it must be canceled or deferred); return the outcome."""
        with self._session(conn) as s:  # one query: the row, its contact, an open support talk
            found = s.execute(
                select(OutboxMessage, Contact, ConversationState.expires_at)
                .join(Contact, Contact.id == OutboxMessage.contact_id)
                .outerjoin(ConversationState, (ConversationState.contact_id == Contact.id)
                           & in_open_support(now))
                .where(OutboxMessage.id == row_id)).first()
            if found is None:
                return "lost_claim"
            row, contact, open_support = found
            if row.status != "sending" or row.claimed_by != self.name:
                return "lost_claim"
            verdict = self._check(row, contact, open_support, now)
            if verdict:
                return verdict
            plan = self._plan(s, row, contact, now)
            if plan == "no_template":
                self._fail(row, OUTSIDE_WINDOW, not_sendable_reason(row, contact), now)
                return "failed"
        waited = self.clock()
        self.limiter.wait(row.channel, self._cost(row, plan))
        if self._too_late(row, now, waited):
            return self._release(row.id, now, conn)
        result = self._send(row.channel, contact.phone, row, plan)
        if self._stale_window(result, row, plan):
            plan = "template"
            result = self._send(row.channel, contact.phone, row, plan)
        with self._session(conn) as s:
            if self.postgres:  # see the module docstring: a lost result is found again at Twilio
                s.execute(text("SET LOCAL synchronous_commit TO OFF"))
            return self._record(s, row, result, plan, now)

    def _check(self, row: OutboxMessage, contact: Contact, open_support, now) -> str | None:
        """Cancel or defer a row that must not go out now; return that outcome or None."""
        if opted_out(contact):
            return self._cancel(row, "contact opted out", now)
        if is_violence_topic(row.topic):
            return self._cancel(row, "never a proactive message about violence", now)
        if row.not_after is not None and row.not_after <= now:
            return self._cancel(row, "expired before it could be sent", now)
        if not row.urgent and in_quiet_hours(now):
            return self._defer(row, quiet_hours_end(now), now, "quiet hours")
        # Never interrupt a conversation about violence, except with the counsellor's reply to it.
        if open_support is not None and not row.private:
            return self._defer(row, open_support, now, "open support conversation")
        return None

    def _release(self, row_id: int, now: datetime, conn=None) -> str:
        """Give back a claim held too long to send safely (a stalled sender); it is queued again."""
        with self._session(conn) as s:
            s.execute(update(OutboxMessage)
                      .where(OutboxMessage.id == row_id, OutboxMessage.status == "sending",
                             OutboxMessage.claimed_by == self.name)
                      .values(status="queued", claimed_by=None, claimed_at=None, updated_at=now,
                              attempts=OutboxMessage.attempts - 1)
                      .execution_options(synchronize_session=False))
        log.warning("outbox row %s: claim held past half its lease, released unsent", row_id)
        return "released"

    def _plan(self, s: Session, row: OutboxMessage, contact: Contact, now: datetime) -> str:
        """Choose "body", "content", "template" or "no_template" (bot/outbound/routing.py)."""
        return route(s, self.settings, row, contact, now)

    def _cost(self, row: OutboxMessage, plan: str) -> int:
        """Return the rate-limit tokens the send of `row` takes (a template counts as one)."""
        return self.limiter.cost(row.channel, row.body if plan == "body" else None)

    def _too_late(self, row: OutboxMessage, now: datetime, since: float) -> bool:
        """Tell whether the claim is too close to its lease's end to send (another may take it)."""
        return (now - row.claimed_at) + timedelta(seconds=self.clock() - since) > self.lease / 2

    @staticmethod
    def _stale_window(result, row: OutboxMessage, plan: str) -> bool:
        """Tell whether our record of the last inbound was stale: send the template instead."""
        return result.error_code == OUTSIDE_WINDOW and plan == "body" and bool(row.content_sid)

    def _message(self, row: OutboxMessage, plan: str) -> dict:
        """Return what services.send needs besides channel and phone: the body or the template."""
        if plan in ("template", "content"):
            return dict(body=None, content_sid=row.content_sid,
                        content_variables=row.content_variables or {},
                        status_callback=self.status_callback)
        return dict(body=row.body, status_callback=self.status_callback)

    def _send(self, channel: str, phone: str, row: OutboxMessage, plan: str, client=None):
        return self.services.send(channel, phone, client=client, **self._message(row, plan))

    def _record(self, s: Session, row: OutboxMessage, result, plan: str, now: datetime) -> str:
        """Store Twilio's answer on the row, only while our claim holds; return the outcome."""
        error = (result.error_message or "")[:300] or None
        if result.ok:
            outcome = "sent"
            values = dict(status="sent", twilio_sid=result.sid, sent_as=plan, sent_at=now,
                          segments=result.num_segments, error_code=None, error_message=None)
        elif result.ambiguous:  # Twilio may have it: checked after the lease, never resent blindly
            outcome, values = "unknown", dict(claimed_at=now, error_message=error)
        elif result.error_code == OPTED_OUT:
            outcome, values = "opted_out", dict(status="failed", error_code=OPTED_OUT,
                                                error_message=error)
        elif result.retryable and row.attempts < self.settings.outbox_max_attempts:
            delay = timedelta(seconds=self.settings.outbox_backoff_seconds * 2 ** (row.attempts - 1))
            delay = min(delay, MAX_BACKOFF) * (1 + random.random() * 0.1)
            outcome = "retry"
            values = dict(status="queued", next_attempt_at=now + delay, error_code=result.error_code,
                          error_message=error, claimed_by=None, claimed_at=None)
        else:
            outcome, values = "failed", dict(status="failed", error_code=result.error_code,
                                             error_message=error)
        if outcome in ("sent", "failed", "opted_out") and row.private:
            values["body"] = ""  # a private reply's text is kept only until it is final
        updated = s.execute(update(OutboxMessage)
                            .where(OutboxMessage.id == row.id, OutboxMessage.status == "sending",
                                   OutboxMessage.claimed_by == self.name)
                            .values(updated_at=now, **values)
                            .execution_options(synchronize_session=False))
        if updated.rowcount != 1:  # another sender took the row over: it will ask Twilio
            log.warning("outbox row %s: lease lost before recording %s", row.id, outcome)
            return "lease_lost"
        if outcome == "sent" and row.source != REPLY_SOURCE:  # the engine logged its replies
            self._log_sent(s, row, result.sid, result.status, result.num_segments, now)
        elif outcome == "opted_out":
            stop_after_carrier_opt_out(s, row.contact_id, now)
        return outcome

    @staticmethod
    def _log_sent(s: Session, row: OutboxMessage, sid: str, status, segments, now) -> None:
        """Add the sent message to the conversation log (without its body if it is private)."""
        private = row.private
        s.add(Message(contact_id=row.contact_id, direction="out", channel=row.channel,
                      body=None if private else row.body, redacted=private, twilio_sid=sid,
                      status=status or "queued", segments=segments, flow=row.source,
                      entities={}, created_at=now, updated_at=now))

    @staticmethod
    def _fail(row: OutboxMessage, code, message, now) -> None:
        row.status, row.error_code, row.error_message = "failed", code, (message or "")[:300]
        row.updated_at = now
        if row.private:
            row.body = ""

    @staticmethod
    def _cancel(row: OutboxMessage, reason: str, now) -> str:
        row.status, row.error_message, row.updated_at = "canceled", reason, now
        if row.private:
            row.body = ""
        return "canceled"

    @staticmethod
    def _defer(row: OutboxMessage, until: datetime, now, reason: str) -> str:
        row.status, row.next_attempt_at, row.error_message = "queued", until, reason
        row.attempts, row.claimed_by, row.claimed_at, row.updated_at = row.attempts - 1, None, None, now
        return "deferred"

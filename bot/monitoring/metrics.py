"""What each process counts, and the one-line calls the rest of the code makes to count it.

Every name starts with `chaski_`. The web workers count webhooks, NLU calls and replies; the
senders count sends and rate-limit waits; the scheduler counts its jobs. What the database
knows (outbox backlog, heartbeats) is not counted here but read at scrape time
(bot/monitoring/collectors.py). No call here ever raises into the caller's work.
"""
from __future__ import annotations

import logging
import time
from contextlib import contextmanager

from prometheus_client import Counter, Gauge, Histogram

from bot import clock

log = logging.getLogger(__name__)

# Twilio gives up on a webhook after 15 s: the buckets reach that far.
WEBHOOK_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0)
NLU_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0)
WAIT_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0)

WEBHOOK_SECONDS = Histogram("chaski_webhook_request_seconds",
                            "Time to answer a Twilio webhook, by path and channel",
                            ["path", "channel"], buckets=WEBHOOK_BUCKETS)
WEBHOOK_RESPONSES = Counter("chaski_webhook_responses_total",
                            "Twilio webhook answers by path and HTTP status (403: bad signature)",
                            ["path", "status"])
NLU_SECONDS = Histogram("chaski_nlu_request_seconds",
                        "Time of a parse request to the Rasa server, answered or not",
                        buckets=NLU_BUCKETS)
NLU_ERRORS = Counter("chaski_nlu_errors_total",
                     "Parse requests that gave no usable answer, by kind "
                     "(timeout, unreachable, refused, bad_answer)", ["kind"])
REPLIES = Counter("chaski_replies_total",
                  "Inbound messages answered (a repeated MessageSid not counted again), by flow",
                  ["flow"])
SENDS = Counter("chaski_twilio_sends_total",
                "Twilio REST send attempts by channel and outcome (sent, error, unknown)",
                ["channel", "outcome"])
SEND_ERRORS = Counter("chaski_twilio_send_errors_total",
                      "Twilio REST sends that failed, by channel and Twilio error code "
                      "(none: no code, e.g. a refused connection)", ["channel", "code"])
RATE_WAITS = Histogram("chaski_rate_limit_wait_seconds",
                       "Time a sender waited for its per-channel rate limit before a send",
                       ["channel"], buckets=WAIT_BUCKETS)
JOB_RUNS = Counter("chaski_job_runs_total", "Scheduler job runs by job and result (ok, error)",
                   ["job", "result"])
JOB_LAST_SUCCESS = Gauge("chaski_job_last_success_timestamp_seconds",
                         "Unix time the job last finished without an error", ["job"],
                         multiprocess_mode="max")
JOB_DURATION = Gauge("chaski_job_duration_seconds", "How long the job's last run took", ["job"],
                     multiprocess_mode="mostrecent")

WEBHOOK_PATHS = ("/webhooks/twilio", "/webhooks/twilio/status")


def observe_webhook(path: str, channel: str, status: int, seconds: float) -> None:
    """Count one answered webhook request (a path outside WEBHOOK_PATHS is ignored)."""
    if path not in WEBHOOK_PATHS:
        return
    WEBHOOK_SECONDS.labels(path, channel).observe(seconds)
    WEBHOOK_RESPONSES.labels(path, str(status)).inc()


def observe_nlu(seconds: float, error: str | None = None) -> None:
    """Count one parse request to the NLU server and, when it failed, its kind of error."""
    NLU_SECONDS.observe(seconds)
    if error:
        NLU_ERRORS.labels(error).inc()


def observe_reply(outcome) -> None:
    """Count the engine's answer to one inbound message by its flow (not a repeated one)."""
    if not getattr(outcome, "duplicate", False):
        REPLIES.labels(getattr(outcome, "flow", None) or "none").inc()


def observe_send(channel: str, result):
    """Count one Twilio send by its outcome and error code; return `result` unchanged."""
    try:
        if result.ok:
            SENDS.labels(channel, "sent").inc()
        else:
            SENDS.labels(channel, "unknown" if result.ambiguous else "error").inc()
            SEND_ERRORS.labels(channel, str(result.error_code or "none")).inc()
    except Exception:  # noqa: BLE001 - counting must never lose a send's result
        log.exception("could not count a send")
    return result


def observe_rate_wait(channel: str, seconds: float) -> None:
    """Count one wait of `seconds` for the channel's rate limit."""
    RATE_WAITS.labels(channel).observe(max(0.0, seconds))


@contextmanager
def timed_job(name: str):
    """Time the scheduler job `name` inside the block; an error counts and goes on up."""
    started = time.monotonic()
    try:
        yield
    except BaseException:
        JOB_RUNS.labels(name, "error").inc()
        JOB_DURATION.labels(name).set(time.monotonic() - started)
        raise
    JOB_RUNS.labels(name, "ok").inc()
    JOB_DURATION.labels(name).set(time.monotonic() - started)
    JOB_LAST_SUCCESS.labels(name).set(clock.now().timestamp())

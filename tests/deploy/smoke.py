"""Pieces of the production smoke test (test_smoke.py): supervised processes, Twilio's side of
the inbound traffic, and a /metrics poller."""
from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.fakes.signing import inbound_form, signature

ROOT = Path(__file__).resolve().parents[2]
WEBHOOK = "/webhooks/twilio"


@dataclass
class Service:
    """One long-running process, started, stopped and restarted the way systemd does it.

    `restart()` is `systemctl restart` (SIGTERM, wait, start). Like `Restart=on-failure`, a
    process that exits on its own with an error is started again a second later; those exits
    are kept in `failures`.
    """

    name: str
    argv: list[str]
    env: dict
    log_dir: Path
    proc: subprocess.Popen | None = None
    stops: list = field(default_factory=list)  # (exit code, seconds SIGTERM took)
    failures: list = field(default_factory=list)  # exit codes of unplanned exits
    restart_delay: float = 1.0

    def __post_init__(self):
        self._log = None
        self._lock = threading.RLock()
        self._done = threading.Event()

    def start(self) -> None:
        with self._lock:
            self._log = open(self.log_dir / f"{self.name}.log", "ab")
            self.proc = subprocess.Popen(self.argv, cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL,
                                         stdout=self._log, stderr=subprocess.STDOUT,
                                         start_new_session=True)

    def supervise(self) -> None:
        """Start it and keep it running (Restart=on-failure) until `kill()`."""
        self.start()
        threading.Thread(target=self._watch, name=f"watch-{self.name}", daemon=True).start()

    def _watch(self) -> None:
        while not self._done.wait(0.2):
            with self._lock:
                code = self.proc.poll()
                if code is None or code == 0 or self._done.is_set():
                    continue
                self.failures.append(code)
                self._log.close()
                time.sleep(self.restart_delay)
                self.start()

    def wait(self, timeout: float) -> int:
        """Wait for a one-off command to end; return its exit code."""
        try:
            return self.proc.wait(timeout)
        finally:
            self._log.close()

    def terminate(self, timeout: float = 60.0) -> int:
        """SIGTERM it and wait for it to end (systemctl stop); return its exit code."""
        with self._lock:
            started = time.monotonic()
            self.proc.send_signal(signal.SIGTERM)
            try:
                code = self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                code = self.proc.wait()
            self.stops.append((code, round(time.monotonic() - started, 2)))
            self._log.close()
            return code

    def restart(self) -> None:
        """Stop it with SIGTERM, then start it again (systemctl restart)."""
        with self._lock:
            self.terminate()
            self.start()

    def kill(self) -> None:
        """Stop supervising and end it (and anything it started)."""
        self._done.set()
        with self._lock:
            if self.proc is not None and self.proc.poll() is None:
                try:
                    os.killpg(self.proc.pid, signal.SIGTERM)
                    self.proc.wait(20)
                except subprocess.TimeoutExpired:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                    self.proc.wait()
                except ProcessLookupError:
                    pass
            if self._log and not self._log.closed:
                self._log.close()


def session() -> requests.Session:
    s = requests.Session()
    s.trust_env = False  # loopback only: never through an http_proxy from the environment
    return s


class InboundTraffic:
    """Post signed inbound SMS as Twilio does: each contact's messages in order, contacts at once,
    a message retried with the same MessageSid until it gets a 200 (Twilio retries too)."""

    def __init__(self, base_url: str, phones: list[str], texts: list[str], per_contact: int,
                 threads: int = 10, give_up_after: float = 120.0):
        self.base_url, self.phones, self.texts = base_url, phones, texts
        self.per_contact, self.threads, self.give_up_after = per_contact, threads, give_up_after
        self.replies: dict[str, list[str]] = {}  # MessageSid -> the TwiML messages answered
        self.latencies: list[float] = []
        self.retries = 0
        self.failures: list[str] = []
        self.flowing = threading.Event()
        self.flowing.set()
        self.in_flight = 0
        self._lock = threading.Lock()
        self._next = iter(range(len(phones)))
        self._workers: list[threading.Thread] = []

    @property
    def answered(self) -> int:
        return len(self.replies)

    def pause(self, timeout: float = 30.0) -> None:
        """Stop posting, and wait until no request is on its way."""
        with self._lock:
            self.flowing.clear()
        deadline = time.monotonic() + timeout
        while self.in_flight and time.monotonic() < deadline:
            time.sleep(0.05)

    def start(self) -> None:
        for i in range(self.threads):
            thread = threading.Thread(target=self._work, name=f"inbound-{i}", daemon=True)
            thread.start()
            self._workers.append(thread)

    def join(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        for thread in self._workers:
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(t.is_alive() for t in self._workers)

    def _work(self) -> None:
        http = session()
        while True:
            with self._lock:
                index = next(self._next, None)
            if index is None:
                return
            phone = self.phones[index]
            for k in range(self.per_contact):
                sid = f"SM{index:016x}{k:016x}"
                body = self.texts[(index + k) % len(self.texts)]
                self._post(http, sid, phone, body)

    def _post(self, http: requests.Session, sid: str, phone: str, body: str) -> None:
        form = inbound_form(body, sid=sid, phone=phone)
        url = self.base_url + WEBHOOK
        headers = {"X-Twilio-Signature": signature(url, form)}
        deadline = time.monotonic() + self.give_up_after
        first = True
        while time.monotonic() < deadline:
            with self._lock:  # checked and counted together: pause() then sees every request
                flowing = self.flowing.is_set()
                self.in_flight += flowing
            if not flowing:
                self.flowing.wait()
                continue
            with self._lock:
                self.retries += 0 if first else 1
            first = False
            started = time.monotonic()
            try:
                r = http.post(url, data=form, headers=headers, timeout=15)
            except requests.RequestException:
                time.sleep(0.3)
                continue
            finally:
                with self._lock:
                    self.in_flight -= 1
            if 400 <= r.status_code < 500:  # refused (a bad signature): retrying cannot help
                break
            if r.status_code != 200:
                time.sleep(0.3)
                continue
            messages = [m.text or "" for m in ET.fromstring(r.text).iter("Message")]
            with self._lock:
                self.latencies.append(time.monotonic() - started)
                self.replies[sid] = messages
            return
        with self._lock:
            self.failures.append(sid)


def metric_samples(text: str) -> dict[tuple, float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            found[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return found


def total(found: dict, name: str, **labels) -> float:
    """Sum the samples called `name` whose labels include `labels`."""
    return sum(v for (n, lab), v in found.items()
               if n == name and all(dict(lab).get(k) == want for k, want in labels.items()))


class MetricsPoller:
    """Scrape /metrics every `interval` seconds; keep the backlog series (from every scrape) and the costs."""

    def __init__(self, base_url: str, token: str, interval: float = 1.0):
        self.url, self.token, self.interval = base_url + "/metrics", token, interval
        self.backlog: list[tuple[float, float, float]] = []  # (t, queued+sending, oldest due age)
        self.scrapes: list[tuple[float, int, float]] = []  # (seconds, bytes, database seconds)
        self.errors = 0
        self._stop = threading.Event()
        self._started = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="metrics-poller", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def scrape(self, http: requests.Session | None = None) -> dict[tuple, float]:
        http = http or session()
        started = time.monotonic()
        r = http.get(self.url, headers={"Authorization": f"Bearer {self.token}"}, timeout=10)
        r.raise_for_status()
        found = metric_samples(r.text)
        self.scrapes.append((time.monotonic() - started, len(r.content),
                             total(found, "chaski_metrics_database_seconds")))
        if total(found, "chaski_database_up") == 1:
            backlog = sum(total(found, "chaski_outbox_messages", status=s) for s in ("queued", "sending"))
            self.backlog.append((time.monotonic() - self._started, backlog,
                                 total(found, "chaski_outbox_oldest_due_age_seconds")))
        return found

    def _run(self) -> None:
        http = session()
        while not self._stop.is_set():
            try:
                self.scrape(http)
            except (requests.RequestException, ValueError):
                self.errors += 1
            self._stop.wait(self.interval)

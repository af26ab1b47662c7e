"""Measure webhook latency under a sustained 50 req/s mix: 70% menu digits, 30% free text.

Chaski runs as deployed (gunicorn, deploy/gunicorn.conf.py's 2 gthread workers x 4
threads) against a real Rasa server started from the trained model; an open-loop
client sends one signed request every 1/rate s (each a new MessageSid, from 2,000
FAKE contacts) and times each from when it was due, so a slow answer also delays
the figures of those queued behind it. Baselines in the same run: Rasa's parse alone,
and the same client against a bare Flask app answering fixed TwiML (what the client,
gunicorn and Flask cost before Chaski does anything).
Goal (issue 17): free text p50 <= 25 ms and p99 <= 60 ms.

Usage: .venv/bin/python bench/webhook_mix.py [--seconds 20] [--rate 50] [--database-url URL]
The PostgreSQL database given is EMPTIED first.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import requests  # noqa: E402

import harness  # noqa: E402
from nlu.client import RasaClient  # noqa: E402
from tests.fakes.signing import inbound_form, signature  # noqa: E402
from webhook_throughput import CONTACTS, TOKEN, seed  # noqa: E402

FREE_TEXT = ["cuanto sta la papa en huancayo", "como preparo biol para mi chacra",
             "va a helar mañana en puno", "a como esta la quinua en juliaca"]
DIGITS = ["1", "2", "3"]
GOAL_P50, GOAL_P99 = 25.0, 60.0


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def open_loop(base: str, rate: float, seconds: float) -> dict[str, list[float]]:
    """Send the mix at `rate` for `seconds`; return latencies (ms, from when each was due)."""
    url = base + "/webhooks/twilio"
    n = int(rate * seconds)
    plan = []
    for i in range(n):
        kind = "freetext" if i % 10 in (2, 5, 8) else "digit"  # 3 in 10: 30% free text
        body = FREE_TEXT[i % len(FREE_TEXT)] if kind == "freetext" else DIGITS[i % len(DIGITS)]
        form = inbound_form(body, sid=f"SMm{i:031d}", phone=harness.fake_phone(i % CONTACTS))
        plan.append((kind, form, {"X-Twilio-Signature": signature(url, form, TOKEN)}))
    local = threading.local()
    times: dict[str, list[float]] = {"digit": [], "freetext": []}
    errors = []
    start = time.perf_counter() + 0.5

    def send(i: int) -> None:
        kind, form, headers = plan[i]
        due = start + i / rate
        time.sleep(max(0.0, due - time.perf_counter()))
        if not hasattr(local, "session"):
            local.session = requests.Session()
        session = local.session
        answer = session.post(url, data=form, headers=headers, timeout=30)
        times[kind].append((time.perf_counter() - due) * 1000)
        if answer.status_code != 200 or "<Message>" not in answer.text:
            errors.append(answer.status_code)

    with ThreadPoolExecutor(48) as pool:
        list(pool.map(send, range(n)))
    if errors:
        print(f"  !! {len(errors)} answers without a message: {errors[:5]}")
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--quick", action="store_true", help="10 s")
    parser.add_argument("--database-url", help="PostgreSQL database to EMPTY and use (default: SQLite)")
    parser.add_argument("--results", help="append the figures as JSON lines to this file (bench/all.py)")
    args = parser.parse_args()
    from nlu.runtime import train
    from nlu.server import RasaServer

    work = Path(tempfile.mkdtemp(prefix="bench-mix-"))
    url = harness.postgres_or_none(args.database_url) or f"sqlite:///{work / 'bench.sqlite'}"
    name = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    seed(url)
    with RasaServer(model=train()) as rasa:
        client = RasaClient(rasa.url, timeout=5)
        parse = []
        for i in range(60):
            t0 = time.perf_counter()
            client.parse(FREE_TEXT[i % len(FREE_TEXT)])
            parse.append((time.perf_counter() - t0) * 1000)
        env = {"DATABASE_URL": url, "TWILIO_AUTH_TOKEN": TOKEN, "SECRET_KEY": "bench",
               "NLU_URL": rasa.url}
        with harness.gunicorn("wsgi_apps:bare()", {}, worker_class="gthread", threads=4,
                              log=work / "gunicorn.log") as base:
            open_loop(base, args.rate, 2)  # warm up
            bare = open_loop(base, args.rate, 10.0 if args.quick else args.seconds)
        with harness.gunicorn("server:app", env, worker_class="gthread", threads=4,
                              log=work / "gunicorn.log") as base:
            open_loop(base, args.rate, 2)  # warm up
            times = open_loop(base, args.rate, 10.0 if args.quick else args.seconds)
    base_p50 = statistics.median(parse[10:])
    bare_p50 = statistics.median(bare["digit"] + bare["freetext"])
    print(f"{name}, {args.rate:g} req/s: Rasa parse alone p50 {base_p50:.1f} ms; "
          f"bare Flask TwiML through the same client p50 {bare_p50:.1f} ms")
    for kind, values in times.items():
        print(f"  {kind:<9} n={len(values):<5} p50 {statistics.median(values):6.1f} ms"
              f"  p99 {pct(values, 0.99):6.1f} ms")
    free = times["freetext"]
    p50, p99 = statistics.median(free), pct(free, 0.99)
    harness.record(args.results, f"free text at {args.rate:g}/s mix, p50, {name}", p50, "ms",
                   baseline="Rasa parse", ratio=p50 / base_p50, goal=f"<= {GOAL_P50:g} ms",
                   met=p50 <= GOAL_P50)
    harness.record(args.results, f"free text at {args.rate:g}/s mix, p99, {name}", p99, "ms",
                   goal=f"<= {GOAL_P99:g} ms", met=p99 <= GOAL_P99)
    harness.record(args.results, f"bare Flask TwiML at {args.rate:g}/s, same client, p50", bare_p50,
                   "ms", goal="(baseline)")
    harness.record(args.results, f"menu digit at {args.rate:g}/s mix, p50, {name}",
                   statistics.median(times["digit"]), "ms", goal="(no goal)")


if __name__ == "__main__":
    main()

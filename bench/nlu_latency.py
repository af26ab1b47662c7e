"""Measure parse latency through the app's client, and the Rasa server's start-up and memory.

    .venv/bin/python bench/nlu_latency.py [--rounds 5] [--url URL]

Starts a Rasa server on the current model (training first if needed) with
nlu.server.RasaServer, unless --url names a running one. Then, over the
held-out messages the rules do not catch, it times in the same run:

- baseline: ``GET /`` on the same server through the same keep-alive session
  (the HTTP round trip with no NLU work);
- client:   ``RasaClient.parse`` (what the engine calls);
- classify: ``Classifier.classify`` (rules + client + building the Parse).

It prints p50/p99 of each, the ratio to the baseline, the server's start-up
seconds (process start to a successful parse) and its resident memory.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nlu import rules  # noqa: E402
from nlu.classifier import Classifier  # noqa: E402
from nlu.client import RasaClient  # noqa: E402
from nlu.evaluate import load_cases  # noqa: E402
from nlu.runtime import train  # noqa: E402
from nlu.server import RasaServer  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    """Return the q-th percentile (0-100) by nearest rank."""
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def timed(call, items, rounds: int) -> list[float]:
    """Return the milliseconds of `call(item)` for every item, `rounds` times."""
    samples = []
    for _ in range(rounds):
        for item in items:
            started = time.perf_counter()
            call(item)
            samples.append((time.perf_counter() - started) * 1000)
    return samples


def measure(url: str, rounds: int) -> dict[str, list[float]]:
    """Time baseline, client and classify against the server at `url`."""
    texts = [case.text for case in load_cases() if rules.match(case.text) is None]
    with RasaClient(url, timeout=10) as client:
        classifier = Classifier(client)
        for text in texts[:20]:  # warm up: connection, TF graph, caches
            client.parse(text)
        return {
            "baseline GET /": timed(lambda _t: client.session.get(url + "/", timeout=10), texts, rounds),
            "RasaClient.parse": timed(client.parse, texts, rounds),
            "Classifier.classify": timed(classifier.classify, texts, rounds),
        }


def report(samples: dict[str, list[float]]) -> str:
    base = statistics.median(samples["baseline GET /"])
    lines = [f"{'path':<22}{'n':>6}{'p50 ms':>9}{'p99 ms':>9}{'p50/baseline':>14}"]
    for name, values in samples.items():
        p50 = percentile(values, 50)
        lines.append(f"{name:<22}{len(values):>6}{p50:>9.2f}{percentile(values, 99):>9.2f}"
                     f"{p50 / base:>14.1f}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--url", help="a running Rasa server (start-up and RSS are then not measured)")
    args = parser.parse_args()
    if args.url:
        print(report(measure(args.url, args.rounds)))
        return 0
    model = train(echo=lambda line: print(line, file=sys.stderr))
    with RasaServer(model=model) as server:
        startup, rss = server.startup_seconds, server.rss_bytes()
        print(report(measure(server.url, args.rounds)))
        rss_after = server.rss_bytes()
    print(f"\nmodel {model.name}: server start-up {startup:.1f} s (process start to first parse); "
          f"RSS {(rss or 0) / 2**20:.0f} MB when ready, {(rss_after or 0) / 2**20:.0f} MB after the run")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Run the quick benchmarks one after the other and print every figure in one table (`make bench`).

    .venv/bin/python bench/all.py [--database-url postgresql://...]

With --database-url (make bench BENCH_DATABASE_URL=...) the PostgreSQL figures are measured
too; that database is EMPTIED. Each figure is printed with its baseline from the same run,
the goal from issue 17 and "goal met" / "below goal".
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent


def runs(pg: str | None) -> list[list[str]]:
    """Return the benchmark command lines, quick versions."""
    db = ["--database-url", pg] if pg else []
    return [
        ["webhook_throughput.py", "--quick", *db],
        ["broadcast.py", "--contacts", "100000", "--sends", "2000", *db],  # 1 worker, then a whole sender
        ["broadcast.py", "--contacts", "3000", "--sends", "1500", "--latency", "0.15", *db],
        ["alert_pushes.py", "--contacts", "100000", *db],
        ["webhook_mix.py", "--quick", *db],  # starts a Rasa server from the trained model
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="PostgreSQL database to EMPTY and measure on")
    args = parser.parse_args()
    results = Path(tempfile.mkstemp(prefix="bench-results-", suffix=".jsonl")[1])
    started = time.monotonic()
    failed = []
    for script, *rest in runs(args.database_url):
        print(f"\n### {script} {' '.join(rest)}", flush=True)
        done = subprocess.run([sys.executable, str(BENCH / script), *rest, "--results", str(results)])
        if done.returncode:
            failed.append(script)
    rows = [json.loads(line) for line in results.read_text().splitlines() if line.strip()]
    width = max([len(r["figure"]) for r in rows] + [20])
    print(f"\n{'figure':<{width}}  {'value':>12}  {'unit':<6}  {'ratio':>14}  {'goal':<22}  verdict")
    for r in rows:
        value = f"{r['value']:,.0f}" if abs(r["value"]) >= 100 else f"{r['value']:,.2f}"
        ratio = f"{r['ratio']:.2f} {r['baseline']}" if r["ratio"] is not None else ""
        verdict = "" if r["met"] is None else ("goal met" if r["met"] else "below goal")
        print(f"{r['figure']:<{width}}  {value:>12}  {r['unit']:<6}  {ratio:>14}  {r['goal']:<22}  {verdict}")
    print(f"\n{len(rows)} figures in {time.monotonic() - started:.0f} s"
          + (f"; FAILED: {', '.join(failed)}" if failed else ""))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

"""Shared pieces of the benchmarks: gunicorn and wrk runs, FAKE contacts, the figures table.

A benchmark records each figure as one JSON line (``--results FILE``) so that
``bench/all.py`` (``make bench``) can print every figure of one run in one table:
``{"figure", "value", "unit", "baseline", "ratio", "goal", "met"}``.
"""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
PYTHON_BIN = Path(sys.executable).parent
FIRST_FAKE = 910_000_000  # +51 910 000 000 upward: this project's FAKE bench range
WRK_SCRIPT = BENCH / "wrk_requests.lua"


def fake_phone(i: int) -> str:
    """Return the i-th FAKE bench number (+51 910 000 000 upward)."""
    return f"+51{FIRST_FAKE + i}"


def free_port() -> int:
    """Return a free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 60.0, process=None) -> None:
    """Wait until something accepts connections on 127.0.0.1:`port`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"nothing listens on port {port} after {timeout:.0f} s")


@contextmanager
def gunicorn(app: str, env: dict, *, workers: int = 2, worker_class: str = "sync", threads: int = 1,
             log: Path | None = None):
    """Run `app` (gunicorn's "module:callable") on a free port; yield its base URL."""
    port = free_port()
    cmd = [str(PYTHON_BIN / "gunicorn"), "--workers", str(workers), "--worker-class", worker_class,
           "--threads", str(threads), "--bind", f"127.0.0.1:{port}", "--pythonpath", f"{ROOT},{BENCH}",
           "--log-level", "warning", "--timeout", "30"]
    if _has_control_socket_option():  # gunicorn 25+: no shared control socket between instances
        cmd.append("--no-control-socket")
    cmd.append(app)
    log = log or Path(tempfile.mkstemp(prefix="bench-gunicorn-", suffix=".log")[1])
    with open(log, "ab") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **env}, stdout=out, stderr=out,
                                start_new_session=True)
    try:
        wait_port(port, process=proc)
        wait_workers(f"http://127.0.0.1:{port}", workers, proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def wait_workers(base: str, workers: int, process, timeout: float = 120.0) -> None:
    """Wait until every worker answers: the master listens before its workers have booted.

    Ready when two rounds in a row of 4 requests a worker, sent at once, all answer within
    half a second (any status: the baselines have no /livez).
    """
    import requests
    from concurrent.futures import ThreadPoolExecutor

    def probe(_i) -> float:
        start = time.monotonic()
        try:
            requests.get(base + "/livez", timeout=5)
        except requests.RequestException:
            return 99.0
        return time.monotonic() - start

    deadline, good = time.monotonic() + timeout, 0
    with ThreadPoolExecutor(4 * workers) as pool:
        while good < 2:
            if time.monotonic() > deadline or process.poll() is not None:
                raise SystemExit(f"gunicorn workers at {base} not ready after {timeout:.0f} s")
            good = good + 1 if max(pool.map(probe, range(4 * workers))) < 0.5 else 0


def _has_control_socket_option() -> bool:
    """Tell whether this gunicorn has --control-socket-disable (25+)."""
    import gunicorn as g
    return int(g.__version__.split(".")[0]) >= 25


def write_requests(path: Path, rows: list[tuple[str, str]]) -> Path:
    """Write pre-signed requests for wrk_requests.lua: one "signature<TAB>form body" a line."""
    with open(path, "w", encoding="ascii") as out:
        for sig, body in rows:
            out.write(f"{sig}\t{body}\n")
    return path


def wrk(url: str, requests_file: Path, seconds: float, connections: int = 16,
        threads: int = 2) -> dict:
    """Drive `url` with wrk cycling through `requests_file`; return rps, latency and errors."""
    if not shutil_which("wrk"):
        raise SystemExit("wrk is not installed: run `make wrk` (Debian's package)")
    cmd = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds:g}s", "--latency",
           "-s", str(WRK_SCRIPT), url, "--", str(requests_file), str(threads)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    if done.returncode:
        raise SystemExit(f"wrk failed: {done.stderr or done.stdout}")
    return parse_wrk(done.stdout)


def parse_wrk(text: str) -> dict:
    """Read requests/s, p50/p99 latency (ms), errors and wrap-arounds from wrk's output."""
    def ms(value: str, unit: str) -> float:
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]

    out = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)),
           "requests": int(re.search(r"(\d+) requests in", text).group(1)),
           "non2xx": int((re.search(r"Non-2xx or 3xx responses: (\d+)", text) or [0, 0])[1]),
           "socket_errors": sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)",
                                                          (re.search(r"Socket errors:.*", text)
                                                           or [""])[0])),
           "wrapped": int((re.search(r"wrapped (\d+)", text) or [0, 0])[1])}
    for q in ("50", "99"):
        found = re.search(rf"^\s+{q}%\s+([\d.]+)(us|ms|s|m)\s*$", text, re.M)
        out[f"p{q}"] = ms(*found.groups()) if found else None
    return out


def shutil_which(name: str) -> str | None:
    import shutil
    return shutil.which(name)


def record(path: str | None, figure: str, value: float, unit: str, *, baseline: str = "",
           ratio: float | None = None, goal: str = "", met: bool | None = None) -> None:
    """Print one figure and append it to the results file for bench/all.py."""
    verdict = "" if met is None else ("goal met" if met else "below goal")
    shown = f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"
    extra = f"  ({ratio:.2f} of {baseline})" if ratio is not None else ""
    print(f"  => {figure}: {shown} {unit}{extra}  {goal}  {verdict}".rstrip(), flush=True)
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps({"figure": figure, "value": value, "unit": unit, "baseline": baseline,
                                  "ratio": ratio, "goal": goal, "met": met}) + "\n")


def postgres_or_none(url: str | None) -> str | None:
    """Return `url` if it names a PostgreSQL database that answers, else None (with a note)."""
    if not url:
        print("  (no --database-url: PostgreSQL cases skipped)")
        return None
    from sqlalchemy import create_engine, text
    try:
        engine = create_engine(url)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return url
    except Exception as exc:  # noqa: BLE001 - reported, the SQLite cases still run
        print(f"  (PostgreSQL at {url} does not answer: {exc}; its cases skipped)")
        return None

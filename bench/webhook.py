"""Measure inbound -> TwiML latency of POST /webhooks/twilio over real HTTP.

Three cases in the same run, so the figures compare on a noisy machine:
  bare      a bare Flask endpoint that returns fixed TwiML (the baseline)
  digit     a menu digit ("1"): rules only, no NLU call
  freetext  a free-text question through the real Rasa server

Usage: .venv/bin/python bench/webhook.py [--n 200] [--nlu-url URL]
Without --nlu-url it starts its own Rasa server from the trained model.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests
from flask import Flask, Response
from werkzeug.serving import make_server

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot import create_app  # noqa: E402
from bot.db import migrate  # noqa: E402
from tests.fakes.signing import inbound_form, signature  # noqa: E402

TOKEN = "bench-token"
FIXED = '<?xml version="1.0" encoding="UTF-8"?><Response><Message>hola</Message></Response>'


def serve(app) -> tuple[str, object]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}", server


def bare_app() -> Flask:
    app = Flask("bare")
    app.add_url_rule("/webhooks/twilio", "bare", lambda: Response(FIXED, mimetype="application/xml"),
                     methods=["POST"])
    return app


def measure(base: str, body: str, n: int, tag: str) -> list[float]:
    session = requests.Session()
    url = base + "/webhooks/twilio"
    times = []
    for i in range(n):
        # A new fake number every 50 messages, so contacts and histories stay realistic.
        form = inbound_form(body, sid=f"SM{tag}{i:030d}"[:34], phone=f"+51900{i // 50:06d}")
        headers = {"X-Twilio-Signature": signature(url, form, TOKEN)}
        start = time.perf_counter()
        response = session.post(url, data=form, headers=headers, timeout=30)
        times.append((time.perf_counter() - start) * 1000)
        if response.status_code != 200 or "<Message>" not in response.text:
            raise SystemExit(f"{tag}: unexpected answer {response.status_code}: {response.text[:200]}")
    return times


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=200, help="requests per case (default 200)")
    parser.add_argument("--nlu-url", help="use this running Rasa server instead of starting one")
    args = parser.parse_args()

    rasa = None
    nlu_url = args.nlu_url
    if not nlu_url:
        from nlu.runtime import train
        from nlu.server import RasaServer

        rasa = RasaServer(model=train())
        rasa.start()
        print("starting Rasa server...", flush=True)
        print(f"rasa ready in {rasa.wait_ready():.1f} s", flush=True)
        nlu_url = rasa.url
    try:
        db_file = Path(tempfile.mkdtemp()) / "bench.sqlite"
        url = f"sqlite:///{db_file}"
        migrate(url)
        app = create_app({"DATABASE_URL": url, "TWILIO_AUTH_TOKEN": TOKEN, "NLU_URL": nlu_url,
                          "SECRET_KEY": "bench"})
        import logging
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        chaski_base, _ = serve(app)
        bare_base, _ = serve(bare_app())
        for base, body, tag in ((bare_base, "1", "w"), (chaski_base, "1", "x")):
            measure(base, body, 20, tag)  # warm up connections, imports and caches
        results = {
            "bare": measure(bare_base, "1", args.n, "b"),
            "digit": measure(chaski_base, "1", args.n, "d"),
            "freetext": measure(chaski_base, "cuanto sta la papa en huancayo", args.n, "f"),
        }
    finally:
        if rasa:
            rasa.stop()
    base_p50 = statistics.median(results["bare"])
    print(f"\n{'case':<10}{'n':>6}{'p50 ms':>10}{'p99 ms':>10}{'p50 / bare':>12}")
    for name, values in results.items():
        p50 = statistics.median(values)
        print(f"{name:<10}{len(values):>6}{p50:>10.2f}{pct(values, 0.99):>10.2f}{p50 / base_p50:>12.1f}")


if __name__ == "__main__":
    main()

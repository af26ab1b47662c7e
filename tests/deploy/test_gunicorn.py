"""deploy/gunicorn.conf.py: the settings it takes from the environment, and a real start and stop."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.request

import pytest

from nlu.server import free_port
from tests.conftest import closed_port_url
from tests.deploy.conftest import ROOT

GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"
CONFIG = "deploy/gunicorn.conf.py"
TWILIO_WAITS_S = 15


def gunicorn_env(tmp_path, **overrides) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TWILIO_", "WEB_", "NLU_")) and k not in {"PORT", "FORWARDED_ALLOW_IPS"}}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'web.sqlite'}", SECRET_KEY="test-only",
               NLU_URL=closed_port_url(), TWILIO_VALIDATE="1")
    env.update(overrides)
    return env


def printed_config(tmp_path, **env) -> dict[str, str]:
    proc = subprocess.run([str(GUNICORN), "-c", CONFIG, "--print-config", "server:app"], cwd=ROOT,
                          env=gunicorn_env(tmp_path, **env), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    settings = {}
    for line in proc.stdout.splitlines():
        name, sep, value = line.partition("=")
        if sep:
            settings[name.strip()] = value.strip()
    return settings


def test_defaults_gthread_on_loopback_with_a_timeout_below_twilios(tmp_path):
    conf = printed_config(tmp_path)
    assert conf["worker_class"] == "gthread"
    assert (conf["workers"], conf["threads"]) == ("2", "4")
    assert conf["bind"] == "['127.0.0.1:5000']"
    assert int(conf["timeout"]) < TWILIO_WAITS_S and int(conf["graceful_timeout"]) < TWILIO_WAITS_S
    assert conf["accesslog"] == "-"
    assert conf["control_socket_disable"] == "True"
    assert conf["forwarded_allow_ips"] == "[]"  # proxies are the app's decision (ProxyFix)


def test_port_workers_threads_and_bind_come_from_the_environment(tmp_path):
    conf = printed_config(tmp_path, PORT="5999", WEB_WORKERS="3", WEB_THREADS="8", WEB_TIMEOUT="12")
    assert (conf["bind"], conf["workers"], conf["threads"], conf["timeout"]) == (
        "['127.0.0.1:5999']", "3", "8", "12")
    assert printed_config(tmp_path, PORT="5999", WEB_BIND="0.0.0.0:8000")["bind"] == "['0.0.0.0:8000']"


@pytest.mark.parametrize("bad", [{"WEB_WORKERS": "0"}, {"WEB_THREADS": "many"}, {"PORT": "http"}])
def test_a_bad_setting_stops_gunicorn_with_its_name(tmp_path, bad):
    proc = subprocess.run([str(GUNICORN), "-c", CONFIG, "--check-config", "server:app"], cwd=ROOT,
                          env=gunicorn_env(tmp_path, **bad), capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert next(iter(bad)) in proc.stdout + proc.stderr


def test_it_serves_healthz_logs_the_request_and_stops_cleanly_on_sigterm(tmp_path):
    port = free_port()
    proc = subprocess.Popen([str(GUNICORN), "-c", CONFIG, "server:app"], cwd=ROOT,
                            env=gunicorn_env(tmp_path, PORT=str(port)),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline, body = time.monotonic() + 60, None
        while body is None and time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as resp:
                    body = (resp.status, json.loads(resp.read()))
            except OSError:
                time.sleep(0.2)
        assert body == (200, {"db": True, "nlu": False, "sender_seen": None,
                              "scheduler_seen": None}), body
        proc.send_signal(signal.SIGTERM)
        output = proc.communicate(timeout=30)[0]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, output
    assert "Using worker: gthread" in output
    assert '"GET /healthz HTTP/1.1" 200' in output  # the access log, on stdout
    assert output.count("Booting worker") == 2

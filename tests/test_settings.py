"""Settings: the generated SECRET_KEY is one key even when processes start together."""
from __future__ import annotations

import multiprocessing
import os
import secrets
import stat
import threading
import time

from bot.settings import load_secret_key


def _race(instance_dir, barrier, results):
    barrier.wait()
    results.put(load_secret_key(instance_dir))


def slow_token_hex(monkeypatch):
    """Make making a key slow, so every racer is between "no file yet" and writing it at once."""
    real = secrets.token_hex

    def slow(n):
        time.sleep(0.05)
        return real(n)

    monkeypatch.setattr(secrets, "token_hex", slow)


def test_processes_starting_together_get_the_same_key(tmp_path, monkeypatch):
    slow_token_hex(monkeypatch)
    ctx = multiprocessing.get_context("fork")
    for round_ in range(5):  # a fresh instance/ each round: the race is on the first start
        instance = tmp_path / f"instance-{round_}"
        barrier, results = ctx.Barrier(8), ctx.Queue()
        procs = [ctx.Process(target=_race, args=(instance, barrier, results)) for _ in range(8)]
        for proc in procs:
            proc.start()
        keys = [results.get(timeout=30) for _ in procs]
        for proc in procs:
            proc.join(timeout=30)
            assert proc.exitcode == 0
        assert len(set(keys)) == 1 and len(keys[0]) == 64
        assert (instance / "secret_key").read_text() == keys[0]
        assert sorted(p.name for p in instance.iterdir()) == ["secret_key"]  # no temp file left
        assert stat.S_IMODE(os.stat(instance / "secret_key").st_mode) == 0o600


def test_threads_starting_together_get_the_same_key(tmp_path, monkeypatch):
    slow_token_hex(monkeypatch)
    barrier, keys = threading.Barrier(16), []

    def start():
        barrier.wait()
        keys.append(load_secret_key(tmp_path))

    threads = [threading.Thread(target=start) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(keys) == 16 and len(set(keys)) == 1


def test_an_existing_key_is_kept(tmp_path):
    (tmp_path / "secret_key").write_text("the-key-we-had\n")
    assert load_secret_key(tmp_path) == "the-key-we-had"
    assert (tmp_path / "secret_key").read_text() == "the-key-we-had\n"

"""Run Rasa's own server (``rasa run --enable-api``) as a subprocess for tests and benchmarks.

``make run`` and ``make nlu`` exec the server directly (``python -m nlu.runtime
serve``); this class is for code that starts one, waits until it parses, and
stops it again.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Optional

from nlu.runtime import (DEFAULT_HOST, NLURuntimeError, PathLike, _root, model_path, rasa_env,
                         serve_command)


def free_port(host: str = DEFAULT_HOST) -> int:
    """A TCP port that is free right now on ``host``."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _tail(path: Optional[Path], lines: int = 40) -> str:
    if path is None:
        return "(no log)"
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 16384))
            text = handle.read().decode("utf-8", "replace")
    except OSError as exc:
        return f"(cannot read log {path}: {exc})"
    return "\n".join(text.splitlines()[-lines:])


class RasaServer:
    """A ``rasa run --enable-api`` subprocess, for tests and benchmarks.

    ::

        with RasaServer() as server:          # start() + wait_ready()
            RasaClient(server.url).parse("hola")

    The server runs in its own process group; ``stop()`` terminates the whole
    group. Output goes to ``log_path``; when none is given, to a temporary
    file that ``stop()`` deletes (errors from ``wait_ready()`` quote its end).
    """

    def __init__(self, port: Optional[int] = None, host: str = DEFAULT_HOST,
                 model: Optional[PathLike] = None, log_path: Optional[PathLike] = None,
                 root: Optional[PathLike] = None, auth_token: Optional[str] = None) -> None:
        self.host = host
        self.auth_token = auth_token or None  # rasa run --auth-token: parse needs ?token=
        self.port = int(port) if port else free_port(host)
        self.model = Path(model) if model is not None else None
        self.log_path = Path(log_path) if log_path is not None else None
        self.root = _root(root)
        self.process: Optional[subprocess.Popen] = None
        self.startup_seconds: Optional[float] = None
        self._log_handle = None
        self._own_log = False  # log_path is a temporary file we created
        self._started_at: Optional[float] = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def pid(self) -> Optional[int]:
        return self.process.pid if self.process is not None else None

    def is_running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> "RasaServer":
        """Start the server process (does not wait for it to be ready)."""
        if self.is_running():
            return self
        model = self.model if self.model is not None else model_path(self.root)
        if not Path(model).is_file():
            raise NLURuntimeError(
                f"No trained NLU model at {model}; run `python -m nlu.runtime train`"
            )
        cmd = serve_command(model, self.host, self.port, root=self.root,
                            auth_token=self.auth_token)
        if self.log_path is None or self._own_log:
            fd, name = tempfile.mkstemp(prefix="rasa-server-", suffix=".log")
            os.close(fd)
            self.log_path = Path(name)
            self._own_log = True
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log_handle = open(self.log_path, "wb")
        self._started_at = time.monotonic()
        self.process = subprocess.Popen(
            cmd,
            cwd=self.root,
            env=rasa_env(),
            stdin=subprocess.DEVNULL,
            stdout=self._log_handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # own process group: stop() reaches every child
        )
        return self

    def _probe(self) -> bool:
        # A local server: never go through an http_proxy from the environment.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(self.url + "/", timeout=2) as resp:
                if resp.status != 200:
                    return False
            query = "?" + urllib.parse.urlencode({"token": self.auth_token}) if self.auth_token else ""
            request = urllib.request.Request(
                self.url + "/model/parse" + query,
                data=json.dumps({"text": "hola"}).encode("utf-8"),
                headers={"Content-Type": "application/json"},
                method="POST",
            )
            with opener.open(request, timeout=10) as resp:
                body = json.loads(resp.read().decode("utf-8"))
                return resp.status == 200 and isinstance(body, dict) and "intent" in body
        except (urllib.error.URLError, OSError, ValueError):
            return False

    def wait_ready(self, timeout: float = 240.0, interval: float = 0.5) -> float:
        """Block until ``GET /`` answers 200 and a parse succeeds.

        Returns the seconds since ``start()``. Raises NLURuntimeError (with
        the end of the log) if the process exits or ``timeout`` passes; the
        process is stopped in that case.
        """
        if self.process is None:
            raise NLURuntimeError("RasaServer.wait_ready() called before start()")
        deadline = time.monotonic() + timeout
        while True:
            returncode = self.process.poll()
            if returncode is not None:
                tail = _tail(self.log_path)
                self.stop()
                raise NLURuntimeError(
                    f"Rasa server exited with code {returncode} before it was ready. "
                    f"Last lines of {self.log_path}:\n{tail}"
                )
            if self._probe():
                assert self._started_at is not None
                self.startup_seconds = time.monotonic() - self._started_at
                return self.startup_seconds
            if time.monotonic() >= deadline:
                tail = _tail(self.log_path)
                self.stop()
                raise NLURuntimeError(
                    f"Rasa server at {self.url} not ready after {timeout:.0f} s. "
                    f"Last lines of {self.log_path}:\n{tail}"
                )
            time.sleep(interval)

    def rss_bytes(self) -> Optional[int]:
        """Resident memory of the server's process group (Linux /proc), or None."""
        if not self.is_running():
            return None
        pgid = self.process.pid  # type: ignore[union-attr]
        total = 0
        found = False
        for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else []:
            if not entry.name.isdigit():
                continue
            try:
                if os.getpgid(int(entry.name)) != pgid:
                    continue
                for line in (entry / "status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
                        found = True
            except (OSError, ValueError):
                continue
        return total if found else None

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM the process group, then SIGKILL after ``timeout`` seconds."""
        proc = self.process
        if proc is not None:
            if proc.poll() is None:
                self._signal_group(signal.SIGTERM)
                try:
                    proc.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    self._signal_group(signal.SIGKILL)
                    proc.wait()
            # Children left behind by a leader that already exited.
            self._signal_group(signal.SIGKILL)
        if self._log_handle is not None:
            self._log_handle.close()
            self._log_handle = None
            if self._own_log and self.log_path is not None:
                with contextlib.suppress(OSError):
                    self.log_path.unlink()

    def _signal_group(self, sig: int) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, sig)

    def __enter__(self) -> "RasaServer":
        self.start()
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.is_running() else "stopped"
        return f"<RasaServer {self.url} {state}>"

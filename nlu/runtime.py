"""Train and serve Chaski's Rasa NLU model from the app's Python.

Rasa 3.6 lives in its own virtual environment (``.venv-nlu``, Python 3.10);
the app (``.venv``, Python 3.11) never imports it. This module only runs
``.venv-nlu/bin/rasa`` as a subprocess, so it needs nothing beyond the
standard library.

The model file is named after a hash of what it was trained from
(``config.yml`` and everything under ``nlu/data/``), so "is the model up to
date?" is just "does ``nlu/models/nlu-<hash>.tar.gz`` exist?".

Command line (``python -m nlu.runtime --help``)::

    python -m nlu.runtime train [--force]   # train if config/data changed
    python -m nlu.runtime serve [--port N]  # train if needed, then exec `rasa run`
    python -m nlu.runtime path              # print the current model's path
    python -m nlu.runtime hash              # print the training-data hash
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Iterator, Optional, Union

from nlu.progress import relay_output

try:  # POSIX only; without it concurrent trainings are merely not serialised.
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

PROJECT_ROOT = Path(__file__).resolve().parent.parent

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5005
KEEP_MODELS = 3
MODEL_PREFIX = "nlu-"
MODEL_SUFFIX = ".tar.gz"
HASH_LENGTH = 12
# A parse takes milliseconds; nothing legitimate holds a request for longer.
RESPONSE_TIMEOUT_S = 30

PathLike = Union[str, "os.PathLike[str]"]


class NLURuntimeError(RuntimeError):
    """The NLU runtime cannot do what was asked (no Rasa, training failed...)."""


def _root(root: Optional[PathLike]) -> Path:
    # Read the module global at call time so tests can monkeypatch PROJECT_ROOT.
    return Path(root) if root is not None else PROJECT_ROOT


def models_dir(root: Optional[PathLike] = None) -> Path:
    """Directory holding trained models (``nlu/models``, ignored by git)."""
    return _root(root) / "nlu" / "models"


def _data_files(data_dir: Path) -> list[Path]:
    """Every training file under ``data_dir``, sorted by relative path.

    Hidden files and directories (editor swap files, ``.DS_Store``) and
    editor backups ending in ``~`` are skipped: they are not training data.
    """
    files = []
    for path in data_dir.rglob("*"):
        rel = path.relative_to(data_dir)
        if any(part.startswith(".") for part in rel.parts) or path.name.endswith("~"):
            continue
        if path.is_file():
            files.append(path)
    return sorted(files, key=lambda p: p.relative_to(data_dir).as_posix())


def data_hash(root: Optional[PathLike] = None) -> str:
    """Short sha256 (12 hex chars) of ``config.yml`` and every file in ``nlu/data/``.

    Each part is framed with its name and length, so moving bytes from one
    file to another or renaming a file changes the hash.
    """
    root = _root(root)
    config = root / "config.yml"
    data_dir = root / "nlu" / "data"
    if not config.is_file():
        raise NLURuntimeError(f"Rasa configuration not found: {config}")
    if not data_dir.is_dir():
        raise NLURuntimeError(f"NLU training data not found: {data_dir}")

    digest = hashlib.sha256()

    def add(name: str, content: bytes) -> None:
        digest.update(name.encode("utf-8") + b"\0")
        digest.update(str(len(content)).encode("ascii") + b"\0")
        digest.update(content)

    add("config.yml", config.read_bytes())
    for path in _data_files(data_dir):
        add("nlu/data/" + path.relative_to(data_dir).as_posix(), path.read_bytes())
    return digest.hexdigest()[:HASH_LENGTH]


def model_name(root: Optional[PathLike] = None) -> str:
    """``nlu-<hash>``: the model's name without the ``.tar.gz`` suffix."""
    return MODEL_PREFIX + data_hash(root)


def model_path(root: Optional[PathLike] = None) -> Path:
    """Where the model for the current config and data is (or will be)."""
    return models_dir(root) / (model_name(root) + MODEL_SUFFIX)


def rasa_executable(root: Optional[PathLike] = None) -> Path:
    """``.venv-nlu/bin/rasa``; raises NLURuntimeError when it is not installed."""
    exe = _root(root) / ".venv-nlu" / "bin" / "rasa"
    if not (exe.is_file() and os.access(exe, os.X_OK)):
        raise NLURuntimeError(
            f"Rasa is not installed: {exe} not found. "
            "Run `make venv-nlu` to create the NLU environment "
            "(Python 3.10: `python3.10 -m venv .venv-nlu && "
            ".venv-nlu/bin/pip install -r nlu/requirements.txt -c nlu/constraints.txt`)."
        )
    return exe


def rasa_env() -> dict[str, str]:
    """Environment for every Rasa subprocess: quiet, no telemetry, no cache.

    ``RASA_MAX_CACHE_SIZE=0`` disables Rasa's training cache (``.rasa/cache``),
    which would otherwise restore components and hide nondeterminism.
    PYTHONHOME/PYTHONPATH are dropped: they belong to the app's Python 3.11
    and would break or shadow the NLU environment's Python 3.10.
    libfaketime is dropped too: the shifted-clock run (``make test-anyday``)
    preloads it into every process, and TensorFlow hangs loading a model under
    it. Training and parsing need no date, so Rasa keeps the real clock.
    """
    env = dict(os.environ)
    env.pop("PYTHONHOME", None)
    env.pop("PYTHONPATH", None)
    if "libfaketime" in env.get("LD_PRELOAD", ""):
        env.pop("LD_PRELOAD")
    env.update(
        {
            "RASA_TELEMETRY_ENABLED": "false",
            "RASA_MAX_CACHE_SIZE": "0",
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "PYTHONWARNINGS": "ignore",
            "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
        }
    )
    return env


@contextlib.contextmanager
def _exclusive_lock(path: Path) -> Iterator[None]:
    """Serialise trainings (``make run`` and pytest may both want a model)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        if fcntl is not None:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def prune_models(keep: int = KEEP_MODELS, root: Optional[PathLike] = None,
                 protect: Optional[Path] = None) -> list[Path]:
    """Delete all but the ``keep`` newest ``nlu-*.tar.gz``, ``protect`` always among them.

    ``protect`` (the model just trained) is kept whatever its time stamp says:
    Rasa's processes may run on another clock than the app (see ``rasa_env``).
    """
    protected = Path(protect).resolve() if protect is not None else None
    models = sorted(
        (p for p in models_dir(root).glob(MODEL_PREFIX + "*" + MODEL_SUFFIX)
         if p.resolve() != protected),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    removed = []
    for path in models[keep - 1 if protected is not None and protected.exists() else keep:]:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            removed.append(path)
    return removed


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def train(force: bool = False, echo: Callable[[str], object] = print,
          root: Optional[PathLike] = None) -> Path:
    """Train the NLU model unless the one for the current data already exists.

    Runs ``rasa train nlu`` into a temporary directory inside ``nlu/models``
    and moves the result into place with an atomic rename, so an interrupted
    training never leaves a half-written file under the final name. Keeps the
    ``KEEP_MODELS`` newest models. Returns the model's path.
    """
    root = _root(root)
    target = model_path(root)
    if target.is_file() and not force:
        echo(f"NLU model up to date: {_relative(target, root)}")
        return target

    exe = rasa_executable(root)
    models = models_dir(root)
    models.mkdir(parents=True, exist_ok=True)

    with _exclusive_lock(models / ".train.lock"):
        # Another process may have trained the same data while we waited.
        if target.is_file() and not force:
            echo(f"NLU model up to date: {_relative(target, root)}")
            return target

        name = target.name[: -len(MODEL_SUFFIX)]
        tmp_dir = Path(tempfile.mkdtemp(prefix=".train-", dir=models))
        cmd = [
            str(exe), "train", "nlu",
            "-c", "config.yml",
            "-u", "nlu/data",
            "--out", str(tmp_dir),
            "--fixed-model-name", name,
        ]
        echo(f"Training NLU model {name} (rasa train nlu) ...")
        started = time.monotonic()
        proc: Optional[subprocess.Popen] = None
        try:
            proc = subprocess.Popen(
                cmd,
                cwd=root,
                env=rasa_env(),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                errors="replace",
                bufsize=1,
            )
            assert proc.stdout is not None
            relay_output(proc.stdout, echo)
            returncode = proc.wait()
            if returncode != 0:
                raise NLURuntimeError(f"`rasa train nlu` failed with exit code {returncode}")
            produced = tmp_dir / target.name
            if not produced.is_file():
                found = sorted(tmp_dir.glob("*" + MODEL_SUFFIX))
                if len(found) != 1:
                    raise NLURuntimeError(
                        f"`rasa train nlu` finished but wrote no model into {tmp_dir}"
                    )
                produced = found[0]
            if data_hash(root) != target.name[len(MODEL_PREFIX): -len(MODEL_SUFFIX)]:
                raise NLURuntimeError(
                    "config.yml or nlu/data/ changed during training; run the training again"
                )
            os.replace(produced, target)
        finally:
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()
            shutil.rmtree(tmp_dir, ignore_errors=True)

    elapsed = time.monotonic() - started
    for old in prune_models(KEEP_MODELS, root, protect=target):
        echo(f"Removed old model {_relative(old, root)}")
    echo(f"NLU model trained in {elapsed:.1f} s: {_relative(target, root)}")
    return target


def serve_command(model: Optional[PathLike] = None, host: str = DEFAULT_HOST,
                  port: int = DEFAULT_PORT, root: Optional[PathLike] = None,
                  auth_token: Optional[str] = None) -> list[str]:
    """The ``rasa run`` command line serving ``model`` (default: the current one).

    With ``auth_token`` (``NLU_TOKEN``) every API call but ``GET /`` needs ``?token=``.

    Rasa 3.6 has no flag to skip the dialogue/channel machinery; with no
    ``credentials.yml`` no input channel is loaded and only the HTTP API
    (``GET /``, ``POST /model/parse``) is served.
    """
    if model is None:
        model = model_path(root)
    return [
        str(rasa_executable(root)),
        "run",
        "--enable-api",
        "-m", str(model),
        "-i", host,
        "-p", str(port),
        "--response-timeout", str(RESPONSE_TIMEOUT_S),
        *(["--auth-token", auth_token] if auth_token else []),
    ]


def _port_from_env(value: Optional[str]) -> Optional[int]:
    if value is None or value == "":
        return None
    try:
        port = int(value)
    except ValueError:
        raise NLURuntimeError(f"NLU_PORT must be a port number, got {value!r}") from None
    if not 0 < port < 65536:
        raise NLURuntimeError(f"NLU_PORT out of range: {port}")
    return port


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m nlu.runtime",
        description=(
            "Train and serve Chaski's Rasa NLU model. Uses .venv-nlu/bin/rasa; "
            "the model is nlu/models/nlu-<hash>.tar.gz, where <hash> covers "
            "config.yml and nlu/data/."
        ),
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p_train = sub.add_parser("train", help="train the model if config.yml or nlu/data/ changed")
    p_train.add_argument("--force", action="store_true", help="train even if the model is up to date")

    p_serve = sub.add_parser(
        "serve",
        help="train if needed, then replace this process with `rasa run --enable-api`",
    )
    p_serve.add_argument("--force", action="store_true", help="retrain before serving")
    p_serve.add_argument("--port", type=int, default=None,
                         help=f"port (default: $NLU_PORT or {DEFAULT_PORT})")
    p_serve.add_argument("--host", default=None,
                         help=f"interface (default: $NLU_HOST or {DEFAULT_HOST})")

    sub.add_parser("path", help="print the path of the model for the current data")
    sub.add_parser("hash", help="print the hash of config.yml and nlu/data/")

    args = parser.parse_args(argv)
    try:
        if args.command == "train":
            train(force=args.force)
        elif args.command == "serve":
            port = args.port or _port_from_env(os.environ.get("NLU_PORT")) or DEFAULT_PORT
            host = args.host or os.environ.get("NLU_HOST") or DEFAULT_HOST
            model = train(force=args.force)
            token = os.environ.get("NLU_TOKEN") or None
            cmd = serve_command(model, host, port, auth_token=token)
            print(f"Starting Rasa NLU server on http://{host}:{port} ({model.name}"
                  f"{', token required' if token else ''})", flush=True)
            sys.stderr.flush()
            os.chdir(PROJECT_ROOT)
            # exec: the server replaces this process, so Ctrl-C / SIGTERM from
            # honcho or make reach Rasa directly.
            os.execve(cmd[0], cmd, rasa_env())
        elif args.command == "path":
            print(model_path())
        elif args.command == "hash":
            print(data_hash())
    except NLURuntimeError as exc:
        print(f"nlu.runtime: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("nlu.runtime: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())

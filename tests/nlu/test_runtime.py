"""nlu.runtime: data hash, model naming, training and the server wrapper.

Runs on a temporary copy of config.yml + nlu/data, with a fake
`.venv-nlu/bin/rasa` script where a Rasa executable is needed, so these
tests are fast and never touch the real nlu/models/.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import stat
import sys
import textwrap
import time
from pathlib import Path

import pytest

from nlu import runtime
from nlu.runtime import NLURuntimeError
from nlu.server import RasaServer, free_port

REAL_ROOT = runtime.PROJECT_ROOT

FAKE_RASA = textwrap.dedent('''\
    #!{python}
    """Stands in for .venv-nlu/bin/rasa: `train nlu ...` and `run ...`."""
    import http.server, json, os, sys, time
    from pathlib import Path

    args = sys.argv[1:]
    log = os.environ.get("FAKE_RASA_ARGS")
    if log:
        with open(log, "a") as fh:
            fh.write(json.dumps({{"args": args, "cwd": os.getcwd(),
                                 "telemetry": os.environ.get("RASA_TELEMETRY_ENABLED"),
                                 "cache": os.environ.get("RASA_MAX_CACHE_SIZE")}}) + "\\n")
    mode = os.environ.get("FAKE_RASA_MODE", "ok")

    def opt(name):
        return args[args.index(name) + 1]

    if args[:2] == ["train", "nlu"]:
        out = Path(opt("--out"))
        out.mkdir(parents=True, exist_ok=True)
        model = out / (opt("--fixed-model-name") + ".tar.gz")
        model.write_bytes(b"half-written")
        print("Epochs:  50%|#####     | 50/100 [00:01<00:01, 50.0it/s]", flush=True)
        if mode == "fail":
            print("training exploded", flush=True)
            sys.exit(3)
        model.write_bytes(b"fake model")
        print("Your Rasa model is trained", flush=True)
        sys.exit(0)

    if args[:1] == ["run"]:
        if mode == "crash":
            print("boom: cannot load model", flush=True)
            sys.exit(1)
        if mode == "hang":
            print("loading forever", flush=True)
            time.sleep(600)
            sys.exit(0)

        class Handler(http.server.BaseHTTPRequestHandler):
            def _send(self, body, ctype="application/json"):
                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                self._send("Hello from Rasa: fake", "text/plain")

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                text = json.loads(self.rfile.read(length))["text"]
                self._send(json.dumps({{"text": text, "intent": {{"name": "greet", "confidence": 1.0}},
                                       "entities": []}}))

            def log_message(self, *a):
                pass

        print("fake rasa serving", flush=True)
        http.server.HTTPServer((opt("-i"), int(opt("-p"))), Handler).serve_forever()
    sys.exit(f"fake rasa: unexpected arguments {{args}}")
    ''')


@pytest.fixture
def project(tmp_path) -> Path:
    """A copy of the project's NLU inputs (config.yml, nlu/data/) without Rasa."""
    root = tmp_path / "project"
    (root / "nlu").mkdir(parents=True)
    shutil.copy2(REAL_ROOT / "config.yml", root / "config.yml")
    shutil.copytree(REAL_ROOT / "nlu" / "data", root / "nlu" / "data")
    return root


@pytest.fixture
def fake_rasa(project, tmp_path, monkeypatch) -> Path:
    """Install the fake `rasa` script into the project copy; record its calls."""
    exe = project / ".venv-nlu" / "bin" / "rasa"
    exe.parent.mkdir(parents=True)
    exe.write_text(FAKE_RASA.format(python=sys.executable))
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    calls = tmp_path / "rasa-calls.jsonl"
    monkeypatch.setenv("FAKE_RASA_ARGS", str(calls))
    monkeypatch.delenv("FAKE_RASA_MODE", raising=False)
    return calls


def read_calls(calls: Path) -> list[dict]:
    return [json.loads(line) for line in calls.read_text().splitlines()]


# ---------------------------------------------------------------- data_hash

def test_hash_is_short_hex_stable_and_independent_of_location(project):
    first = runtime.data_hash(project)
    assert re.fullmatch(r"[0-9a-f]{12}", first)
    assert runtime.data_hash(project) == first
    assert runtime.data_hash(REAL_ROOT) == first  # same bytes, other directory


def test_hash_changes_when_a_data_file_changes(project):
    before = runtime.data_hash(project)
    path = project / "nlu" / "data" / "chitchat.yml"
    path.write_text(path.read_text() + "    - holitas\n")
    assert runtime.data_hash(project) != before


def test_hash_changes_when_config_changes(project):
    before = runtime.data_hash(project)
    config = project / "config.yml"
    config.write_text(re.sub(r"epochs: \d+", "epochs: 999", config.read_text()))
    assert runtime.data_hash(project) != before


@pytest.mark.parametrize("change", ["add", "remove", "rename", "nested"])
def test_hash_changes_when_files_are_added_removed_or_renamed(project, change):
    before = runtime.data_hash(project)
    data = project / "nlu" / "data"
    if change == "add":
        (data / "extra.yml").write_text('version: "3.1"\nnlu: []\n')
    elif change == "remove":
        (data / "support.yml").unlink()
    elif change == "rename":
        (data / "support.yml").rename(data / "support2.yml")
    else:
        (data / "lookups" / "more.yml").write_text('version: "3.1"\nnlu: []\n')
    assert runtime.data_hash(project) != before


def test_moving_bytes_between_files_changes_hash(project):
    data = project / "nlu" / "data"
    (data / "a.yml").write_text("ab")
    (data / "b.yml").write_text("c")
    before = runtime.data_hash(project)
    (data / "a.yml").write_text("a")
    (data / "b.yml").write_text("bc")
    assert runtime.data_hash(project) != before


def test_hidden_and_backup_files_do_not_count(project):
    before = runtime.data_hash(project)
    data = project / "nlu" / "data"
    (data / ".chitchat.yml.swp").write_bytes(b"\0swap")
    (data / "prices.yml~").write_text("backup")
    (data / ".cache").mkdir()
    (data / ".cache" / "x.yml").write_text("x")
    assert runtime.data_hash(project) == before


def test_hash_needs_config_and_data(project):
    (project / "config.yml").unlink()
    with pytest.raises(NLURuntimeError, match="config"):
        runtime.data_hash(project)


def test_monkeypatched_project_root_is_used(project, monkeypatch):
    (project / "config.yml").write_text("language: es\n")  # differ from the real project
    expected = runtime.data_hash(project)
    monkeypatch.setattr(runtime, "PROJECT_ROOT", project)
    assert runtime.data_hash() == expected
    assert runtime.model_path().parent == project / "nlu" / "models"


# ---------------------------------------------------------------- model_path

def test_model_path_is_named_after_the_hash(project):
    path = runtime.model_path(project)
    assert path == project / "nlu" / "models" / f"nlu-{runtime.data_hash(project)}.tar.gz"
    assert re.fullmatch(r"nlu-[0-9a-f]{12}\.tar\.gz", path.name)


def test_model_path_follows_the_data(project):
    before = runtime.model_path(project)
    path = project / "nlu" / "data" / "prices.yml"
    path.write_text(path.read_text() + "    - precio del [tarwi](product) en [jauja](location)\n")
    assert runtime.model_path(project) != before


# ---------------------------------------------------------------- missing Rasa

def test_missing_rasa_executable_is_a_clear_error(project):
    with pytest.raises(NLURuntimeError) as info:
        runtime.rasa_executable(project)
    message = str(info.value)
    assert "make venv-nlu" in message
    assert str(project / ".venv-nlu" / "bin" / "rasa") in message


def test_train_and_serve_command_without_rasa_raise(project):
    with pytest.raises(NLURuntimeError, match="make venv-nlu"):
        runtime.train(root=project, echo=lambda line: None)
    with pytest.raises(NLURuntimeError, match="make venv-nlu"):
        runtime.serve_command(root=project)
    assert not runtime.model_path(project).exists()


def test_cli_exits_2_with_message_when_rasa_is_missing(project, monkeypatch, capsys):
    monkeypatch.setattr(runtime, "PROJECT_ROOT", project)
    assert runtime.main(["train"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("nlu.runtime: error:")
    assert "make venv-nlu" in err


def test_cli_hash_and_path(project, monkeypatch, capsys):
    monkeypatch.setattr(runtime, "PROJECT_ROOT", project)
    assert runtime.main(["hash"]) == 0
    assert capsys.readouterr().out.strip() == runtime.data_hash(project)
    assert runtime.main(["path"]) == 0
    assert capsys.readouterr().out.strip() == str(runtime.model_path(project))


def test_cli_needs_a_command(capsys):
    with pytest.raises(SystemExit) as info:
        runtime.main([])
    assert info.value.code == 2


def test_bad_nlu_port_is_a_clear_error(project, fake_rasa, monkeypatch, capsys):
    monkeypatch.setattr(runtime, "PROJECT_ROOT", project)
    monkeypatch.setenv("NLU_PORT", "abc")
    assert runtime.main(["serve"]) == 2
    assert "NLU_PORT" in capsys.readouterr().err


# ---------------------------------------------------------------- environment, commands

def test_rasa_env(monkeypatch):
    monkeypatch.setenv("PYTHONPATH", "/somewhere")
    monkeypatch.setenv("CHASKI_SOMETHING", "kept")
    env = runtime.rasa_env()
    assert env["RASA_TELEMETRY_ENABLED"] == "false"
    assert env["RASA_MAX_CACHE_SIZE"] == "0"
    assert env["TF_CPP_MIN_LOG_LEVEL"] == "2"
    assert env["PYTHONWARNINGS"] == "ignore"
    assert env["SQLALCHEMY_SILENCE_UBER_WARNING"] == "1"
    assert env["CHASKI_SOMETHING"] == "kept"
    assert "PYTHONPATH" not in env
    assert os.environ["PYTHONPATH"] == "/somewhere"  # a copy, not the real environment


def test_rasa_env_keeps_the_real_clock_but_other_preloads(monkeypatch):
    monkeypatch.setenv("LD_PRELOAD", "/x/libfaketime/vendor/libfaketime/src/libfaketime.so.1")
    assert "LD_PRELOAD" not in runtime.rasa_env()
    monkeypatch.setenv("LD_PRELOAD", "/usr/lib/libjemalloc.so.2")
    assert runtime.rasa_env()["LD_PRELOAD"] == "/usr/lib/libjemalloc.so.2"


def test_serve_command(project, fake_rasa):
    exe = str(project / ".venv-nlu" / "bin" / "rasa")
    cmd = runtime.serve_command("m.tar.gz", host="127.0.0.1", port=5099, root=project)
    assert cmd[:2] == [exe, "run"]
    assert "--enable-api" in cmd
    assert cmd[cmd.index("-m") + 1] == "m.tar.gz"
    assert cmd[cmd.index("-i") + 1] == "127.0.0.1"
    assert cmd[cmd.index("-p") + 1] == "5099"
    default = runtime.serve_command(root=project)
    assert default[default.index("-m") + 1] == str(runtime.model_path(project))
    assert default[default.index("-p") + 1] == "5005"


# ---------------------------------------------------------------- train (fake rasa)

def test_train_runs_rasa_and_moves_the_model_into_place(project, fake_rasa):
    lines: list[str] = []
    path = runtime.train(root=project, echo=lines.append)
    assert path == runtime.model_path(project)
    assert path.read_bytes() == b"fake model"
    [call] = read_calls(fake_rasa)
    args = call["args"]
    assert args[:2] == ["train", "nlu"]
    assert args[args.index("-c") + 1] == "config.yml"
    assert args[args.index("-u") + 1] == "nlu/data"
    assert args[args.index("--fixed-model-name") + 1] == path.name[: -len(".tar.gz")]
    out = Path(args[args.index("--out") + 1])
    assert out.parent == project / "nlu" / "models"  # same file system: atomic rename
    assert not out.exists()  # temporary directory removed
    assert Path(call["cwd"]) == project
    assert (call["telemetry"], call["cache"]) == ("false", "0")
    assert any("trained in" in line for line in lines)
    assert any("Epochs" in line for line in lines)  # Rasa's output is streamed


def test_train_skips_when_up_to_date_unless_forced(project, fake_rasa):
    runtime.train(root=project, echo=lambda line: None)
    lines: list[str] = []
    path = runtime.train(root=project, echo=lines.append)
    assert path.is_file()
    assert any("up to date" in line for line in lines)
    assert len(read_calls(fake_rasa)) == 1
    runtime.train(root=project, force=True, echo=lambda line: None)
    assert len(read_calls(fake_rasa)) == 2


def test_up_to_date_model_needs_no_rasa(project):
    path = runtime.model_path(project)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"model")
    assert runtime.train(root=project, echo=lambda line: None) == path


def test_failed_training_leaves_no_model_and_no_temporary_files(project, fake_rasa, monkeypatch):
    monkeypatch.setenv("FAKE_RASA_MODE", "fail")
    lines: list[str] = []
    with pytest.raises(NLURuntimeError, match="exit code 3"):
        runtime.train(root=project, echo=lines.append)
    assert not runtime.model_path(project).exists()
    models = project / "nlu" / "models"
    assert [p.name for p in models.iterdir() if not p.name.startswith(".train.lock")] == []
    assert "training exploded" in lines


def test_training_keeps_the_three_newest_models(project, fake_rasa):
    models = project / "nlu" / "models"
    models.mkdir(parents=True)
    now = time.time()
    for i in range(4):
        old = models / f"nlu-old{i:09d}.tar.gz"
        old.write_bytes(b"old")
        os.utime(old, (now - 1000 + i, now - 1000 + i))
    keep_other = models / "README.txt"
    keep_other.write_text("not a model")
    path = runtime.train(root=project, echo=lambda line: None)
    remaining = sorted(p.name for p in models.glob("nlu-*.tar.gz"))
    assert remaining == sorted([path.name, "nlu-old000000003.tar.gz", "nlu-old000000002.tar.gz"])
    assert keep_other.exists()


# ---------------------------------------------------------------- RasaServer (fake rasa)

def test_server_starts_answers_and_stops(project, fake_rasa, tmp_path):
    model = tmp_path / "model.tar.gz"
    model.write_bytes(b"x")
    log = tmp_path / "server.log"
    server = RasaServer(model=model, log_path=log, root=project)
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", server.url)
    server.start()
    try:
        seconds = server.wait_ready(timeout=30)
        assert seconds >= 0
        assert server.is_running()
        from nlu.client import RasaClient
        assert RasaClient(server.url).parse("hola")["intent"]["name"] == "greet"
        [call] = read_calls(fake_rasa)
        assert call["args"][:2] == ["run", "--enable-api"]
        assert call["args"][call["args"].index("-p") + 1] == str(server.port)
    finally:
        server.stop()
    assert not server.is_running()
    with pytest.raises(ProcessLookupError):
        os.killpg(server.pid, 0)  # the whole process group is gone
    assert "fake rasa serving" in log.read_text()


def test_server_context_manager_waits_until_ready(project, fake_rasa, tmp_path):
    model = tmp_path / "model.tar.gz"
    model.write_bytes(b"x")
    with RasaServer(model=model, root=project, port=free_port()) as server:
        from nlu.client import RasaClient
        assert RasaClient(server.url).is_ready()
        assert server.startup_seconds is not None
    assert not server.is_running()


def test_server_that_dies_reports_its_log(project, fake_rasa, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_RASA_MODE", "crash")
    model = tmp_path / "model.tar.gz"
    model.write_bytes(b"x")
    server = RasaServer(model=model, root=project).start()
    with pytest.raises(NLURuntimeError, match="boom: cannot load model") as info:
        server.wait_ready(timeout=30)
    assert "exited with code 1" in str(info.value)
    assert not server.is_running()


def test_server_that_never_gets_ready_times_out_and_is_stopped(project, fake_rasa, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_RASA_MODE", "hang")
    model = tmp_path / "model.tar.gz"
    model.write_bytes(b"x")
    server = RasaServer(model=model, root=project).start()
    started = time.monotonic()
    with pytest.raises(NLURuntimeError, match="not ready after"):
        server.wait_ready(timeout=1.5, interval=0.1)
    assert time.monotonic() - started < 20
    assert not server.is_running()


def test_server_without_model_is_a_clear_error(project, fake_rasa):
    with pytest.raises(NLURuntimeError, match="nlu.runtime train"):
        RasaServer(root=project).start()

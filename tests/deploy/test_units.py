"""The systemd units under deploy/systemd/: systemd-analyze verify, the offline security
review, and what verify does not look at (user, env file, hardening, commands that exist).

systemd is not PID 1 here, so nothing is started. `systemd-analyze verify` loads each unit
file as systemd would: it fails on an ExecStart= whose program does not exist or is not
executable and on a unit that cannot be loaded, and only *warns* (exit 0) about unknown
keys and values it cannot parse. It does not check User=, WorkingDirectory=,
EnvironmentFile= or ReadWritePaths=. So the units are rendered with /opt/chaski replaced by
this checkout (whose .venv holds the programs), every warning about them counts as a
failure, and the rest is checked by hand below.
"""
from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.deploy.conftest import DEPLOY, ROOT, tool

UNITS_DIR = DEPLOY / "systemd"
UNITS = ["chaski-web.service", "chaski-nlu.service", "chaski-scheduler.service", "chaski-sender@.service"]
BACKUP = ["chaski-backup.service", "chaski-backup.timer"]  # a nightly oneshot and its timer
INSTALL_ROOT = "/opt/chaski"
# systemd-analyze security's overall exposure, times ten (the units score 1.6 "OK"; none at all is 9.6).
MAX_EXPOSURE = 20


def instance(unit: str) -> str:
    """The name to check a unit under: a template needs an instance (chaski-sender@1)."""
    return unit.replace("@.", "@1.")


def render(unit_text: str, directory: Path, name: str) -> Path:
    """Write the unit with /opt/chaski pointing at this checkout; return its path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(unit_text.replace(INSTALL_ROOT, str(ROOT)), encoding="utf-8")
    return path


def verify(path: Path) -> tuple[int, list[str]]:
    """Run systemd-analyze verify on one unit; return its exit code and the lines about it."""
    target = path.parent / instance(path.name)
    proc = subprocess.run([tool("systemd-analyze"), "verify", "--man=no", str(target)],
                          capture_output=True, text=True, timeout=60)
    lines = (proc.stdout + proc.stderr).splitlines()
    about_it = [line for line in lines if str(path.parent) in line or "chaski" in line]
    return proc.returncode, about_it


def exposure_ok(path: Path) -> tuple[bool, str]:
    target = path.parent / instance(path.name)
    proc = subprocess.run([tool("systemd-analyze"), "security", "--offline=yes", "--man=no",
                           f"--threshold={MAX_EXPOSURE}", str(target)],
                          capture_output=True, text=True, timeout=60)
    summary = [line for line in proc.stdout.splitlines() if "Overall exposure" in line]
    return proc.returncode == 0, (summary or [proc.stdout + proc.stderr])[-1]


def directives(text: str) -> list[tuple[str, str, str]]:
    """(section, key, value) for every line; keys may repeat, as systemd allows."""
    section, out = "", []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        out.append((section, key.strip(), value.strip()))
    return out


def values(text: str, key: str) -> list[str]:
    return [v for _, k, v in directives(text) if k == key]


def test_every_unit_is_there():
    found = [p.name for p in UNITS_DIR.iterdir() if p.suffix in (".service", ".timer")]
    assert sorted(found) == sorted(UNITS + BACKUP)


# ---- what systemd-analyze checks ----
@pytest.mark.parametrize("unit", UNITS + BACKUP)
def test_systemd_analyze_verify_passes_without_a_warning(unit, tmp_path):
    if unit.endswith(".timer"):  # verify loads the service a timer starts from beside it
        render((UNITS_DIR / unit.replace(".timer", ".service")).read_text(encoding="utf-8"),
               tmp_path, unit.replace(".timer", ".service"))
    path = render((UNITS_DIR / unit).read_text(encoding="utf-8"), tmp_path, unit)
    code, problems = verify(path)
    assert code == 0 and problems == [], problems


@pytest.mark.parametrize("unit", UNITS + ["chaski-backup.service"])
def test_the_offline_security_review_rates_the_unit_ok(unit, tmp_path):
    path = render((UNITS_DIR / unit).read_text(encoding="utf-8"), tmp_path, unit)
    ok, summary = exposure_ok(path)
    assert ok, summary


# ---- the checks can fail ----
def web_unit() -> str:
    return (UNITS_DIR / "chaski-web.service").read_text(encoding="utf-8")


def test_verify_fails_on_a_program_that_does_not_exist(tmp_path):
    broken = web_unit().replace("/.venv/bin/gunicorn", "/.venv/bin/gunicorn-not-installed")
    code, problems = verify(render(broken, tmp_path, "chaski-web.service"))
    assert code != 0 and any("not executable" in p for p in problems), problems


@pytest.mark.parametrize("typo", [("ProtectSystem=strict", "ProtectSytem=strict"),
                                  ("Restart=on-failure", "Restart=sometimes"),
                                  ("NoNewPrivileges=yes", "NoNewPrivileges=maybe")])
def test_a_misspelt_key_or_a_bad_value_counts_as_a_failure(typo, tmp_path):
    good, bad = typo
    assert good in web_unit()
    code, problems = verify(render(web_unit().replace(good, bad), tmp_path, "chaski-web.service"))
    assert problems, f"{bad!r} went unnoticed (exit {code})"


def test_the_security_review_fails_a_unit_without_hardening(tmp_path):
    text = web_unit().split("# Hardening:")[0] + "\n[Install]\nWantedBy=multi-user.target\n"
    ok, summary = exposure_ok(render(text, tmp_path, "chaski-web.service"))
    assert not ok, summary


# ---- what systemd-analyze does not check ----
@pytest.mark.parametrize("unit", UNITS)
def test_each_unit_runs_unprivileged_from_the_checkout_with_the_shared_env_file(unit):
    text = (UNITS_DIR / unit).read_text(encoding="utf-8")
    expected = {
        "User": ["chaski"], "Group": ["chaski"], "WorkingDirectory": [INSTALL_ROOT],
        "EnvironmentFile": ["/etc/chaski/chaski.env"], "Restart": ["on-failure"],
        "NoNewPrivileges": ["yes"], "ProtectSystem": ["strict"], "ProtectHome": ["yes"],
        "PrivateTmp": ["yes"], "CapabilityBoundingSet": [""], "WantedBy": ["multi-user.target"],
    }
    assert {key: values(text, key) for key in expected} == expected
    # ProtectSystem=strict: everything is read-only but these, all inside the checkout.
    writable = " ".join(values(text, "ReadWritePaths")).split()
    assert writable and all(p.startswith(INSTALL_ROOT + "/") for p in writable), writable
    [start] = values(text, "ExecStart")
    assert start.startswith(INSTALL_ROOT + "/.venv/bin/"), start


def run_here(command: str, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess:
    """Run a unit's ExecStart (plus `extra`) in this checkout, on a throwaway database."""
    argv = command.replace(INSTALL_ROOT, str(ROOT)).split() + list(extra)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "NLU_", "WEB_"))}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'units.sqlite'}", SECRET_KEY="test-only")
    return subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("unit", ["chaski-nlu.service", "chaski-scheduler.service", "chaski-sender@.service"])
def test_the_command_each_unit_starts_exists(unit, tmp_path):
    """`--help` on the ExecStart: an unknown command or sub-command fails (click, argparse)."""
    [start] = values((UNITS_DIR / unit).read_text(encoding="utf-8"), "ExecStart")
    proc = run_here(start, tmp_path, "--help")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_backup_unit_runs_the_backup_command_unprivileged_with_the_env_file(tmp_path):
    text = (UNITS_DIR / "chaski-backup.service").read_text(encoding="utf-8")
    assert values(text, "User") == ["chaski"] and values(text, "Type") == ["oneshot"]
    assert values(text, "EnvironmentFile") == ["/etc/chaski/chaski.env"]
    assert values(text, "ProtectSystem") == ["strict"]
    [start] = values(text, "ExecStart")
    assert " backup --out /var/backups/chaski" in start
    assert values(text, "ReadWritePaths") == ["/var/backups/chaski"]
    proc = run_here(start.split(" --out")[0], tmp_path, "--help")
    assert proc.returncode == 0 and "--out" in proc.stdout, proc.stdout + proc.stderr
    timer = (UNITS_DIR / "chaski-backup.timer").read_text(encoding="utf-8")
    assert values(timer, "Persistent") == ["true"] and values(timer, "WantedBy") == ["timers.target"]


def test_the_web_unit_starts_gunicorn_with_a_config_that_loads_the_app(tmp_path):
    [start] = values(web_unit(), "ExecStart")
    assert "-c deploy/gunicorn.conf.py server:app" in start
    proc = run_here(start, tmp_path, "--check-config")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_nlu_unit_passes_no_flag_that_nlu_runtime_lacks():
    [start] = values((UNITS_DIR / "chaski-nlu.service").read_text(encoding="utf-8"), "ExecStart")
    args = start.split()[start.split().index("nlu.runtime") + 1:]
    from nlu import runtime

    # parse_args of the real CLI, without running it: an unknown flag exits 2.
    parser_calls = []
    real_parse = runtime.argparse.ArgumentParser.parse_args

    def capture(self, argv=None, namespace=None):
        parsed = real_parse(self, argv, namespace)
        parser_calls.append(parsed)
        raise SystemExit(0)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(runtime.argparse.ArgumentParser, "parse_args", capture)
        with pytest.raises(SystemExit) as exit_:
            runtime.main(args)
    assert exit_.value.code == 0 and parser_calls[0].command == "serve"


# ---- the env file example ----
ENV_EXAMPLE = DEPLOY / "chaski.env.example"


def env_names() -> list[str]:
    names = []
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^#?\s?([A-Z][A-Z0-9_]+)=", line)
        if match:
            names.append(match.group(1))
    return names


def test_every_setting_in_the_env_example_is_read_by_the_code():
    sources = [*ROOT.glob("bot/**/*.py"), *ROOT.glob("nlu/*.py"), DEPLOY / "gunicorn.conf.py"]
    code = "\n".join(p.read_text(encoding="utf-8") for p in sources)
    names = env_names()
    assert {"DATABASE_URL", "SECRET_KEY", "PUBLIC_URL", "TWILIO_AUTH_TOKEN", "NLU_URL"} <= set(names)
    unread = [n for n in names if f'"{n}"' not in code and f"'{n}'" not in code]
    assert unread == [], f"the env example lists settings nothing reads: {unread}"


def test_the_env_example_holds_no_secret():
    text = ENV_EXAMPLE.read_text(encoding="utf-8")
    for name in ("SECRET_KEY", "TWILIO_AUTH_TOKEN", "NLU_TOKEN"):
        [line] = [ln for ln in text.splitlines() if ln.startswith(name + "=")]
        assert "CHANGE-ME" in line, line
    for url in re.findall(r"postgresql://[^\s]+", text):  # a password, if any, is a placeholder
        assert re.match(r"postgresql://\w+@", url) or ":CHANGE-ME@" in url, url


def test_the_env_example_reads_the_same_in_systemd_and_in_a_shell():
    """systemd reads NAME=value lines; the README's `chaski` helper sources the file with bash."""
    lines = [ln for ln in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
             if ln.strip() and not ln.lstrip().startswith("#")]
    assert lines
    for line in lines:
        assert re.fullmatch(r"[A-Z][A-Z0-9_]*=[^\s'\"$`;&|<>()\\]*", line), line
    proc = subprocess.run(["bash", "-c", f"set -a; . {ENV_EXAMPLE}; set +a; env -0"],
                          capture_output=True, text=True, timeout=30, env={"PATH": os.environ["PATH"]})
    sourced = dict(item.split("=", 1) for item in proc.stdout.split("\0") if "=" in item)
    for line in lines:
        name, value = line.split("=", 1)
        assert sourced.get(name) == value, name

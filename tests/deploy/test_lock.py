"""The hashed lock files agree with the pins people edit (requirements*.txt) and with each other.

`make lock` writes them (uv pip compile --generate-hashes); `make venv` installs with
--require-hashes, so a package missing from the lock, or one without a hash, fails the install.
"""
from __future__ import annotations

import re
from pathlib import Path

from tests.deploy.conftest import ROOT

PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)")


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path: Path) -> dict[str, str]:
    """name -> version for every `name==version` line of a requirements or lock file."""
    found = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = PIN.match(line.strip())
        if match:
            found[normalise(match.group(1))] = match.group(2)
    return found


def entries(path: Path) -> dict[str, str]:
    """name -> the whole entry (pin, markers and hashes) of a lock file."""
    text = path.read_text(encoding="utf-8")
    out = {}
    for block in re.split(r"\n(?=\S)", text):
        match = PIN.match(block)
        if match:
            out[normalise(match.group(1))] = block
    return out


APP, DEV = ROOT / "requirements.lock", ROOT / "requirements-dev.lock"


def test_every_top_level_pin_is_locked_at_its_version():
    for source, lock in ((ROOT / "requirements.txt", APP), (ROOT / "requirements-dev.txt", DEV)):
        wanted, locked = pins(source), pins(lock)
        assert wanted, source
        stale = {n: (v, locked.get(n)) for n, v in wanted.items() if locked.get(n) != v}
        assert stale == {}, f"{lock.name} is out of date with {source.name} (run make lock): {stale}"
    # requirements-dev.txt includes requirements.txt: its pins are in the dev lock too.
    assert set(pins(ROOT / "requirements.txt")) <= set(pins(DEV))


def test_every_locked_package_has_sha256_hashes():
    for lock in (APP, DEV):
        unhashed = [n for n, e in entries(lock).items() if not re.search(r"--hash=sha256:[0-9a-f]{64}", e)]
        assert unhashed == [], f"{lock.name}: {unhashed}"


def test_the_dev_lock_has_the_apps_packages_at_the_same_versions_and_hashes():
    app, dev = entries(APP), entries(DEV)
    different = [name for name, entry in app.items()
                 if name not in dev or sorted(re.findall(r"sha256:\w+", entry))
                 != sorted(re.findall(r"sha256:\w+", dev[name])) or pins(APP)[name] != pins(DEV)[name]]
    assert different == []


def test_the_server_lock_has_no_test_tool_and_make_installs_from_a_lock():
    assert not {"pytest", "playwright", "libfaketime", "pip-audit", "uv"} & set(pins(APP))
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "LOCK ?= requirements-dev.lock" in makefile
    assert "pip install --disable-pip-version-check -q --require-hashes -r $(LOCK)" in makefile

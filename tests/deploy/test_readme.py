"""The README's deploy section: its `chaski` shell helper runs a CLI command with the env file."""
from __future__ import annotations

import os
import re
import shutil
import subprocess

from tests.deploy.conftest import DEPLOY, ROOT


def deploy_section() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("## Deploy on a server")
    return text[start:text.index("\n## ", start + 1)]


def test_the_chaski_helper_passes_arguments_and_settings_through(tmp_path):
    match = re.search(r"^\s*(chaski\(\) \{.*?; \})\s*$", deploy_section(), re.S | re.M)
    assert match, "the chaski() helper is gone from the README"
    helper = (match.group(1).replace("/etc/chaski/chaski.env", str(tmp_path / "chaski.env"))
              .replace("/opt/chaski", str(ROOT))
              .replace("runuser -u chaski -- ", ""))  # as ourselves: no chaski user here
    env_file = (DEPLOY / "chaski.env.example").read_text(encoding="utf-8")
    # On SQLite here, so not in production mode (which refuses anything but PostgreSQL).
    assert "\nCHASKI_ENV=production\n" in env_file
    (tmp_path / "chaski.env").write_text(
        env_file.replace("postgresql://chaski@/chaski?host=/var/run/postgresql",
                         f"sqlite:///{tmp_path / 'db.sqlite'}")
        .replace("\nCHASKI_ENV=production\n", "\nCHASKI_ENV=development\n"), encoding="utf-8")
    bulletin = tmp_path / "a bulletin" / "precios de hoy.csv"  # an argument with spaces
    bulletin.parent.mkdir()
    shutil.copy(ROOT / "tests" / "data" / "prices_good.csv", bulletin)
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}
    ran = subprocess.run(["bash", "-c", f"{helper}\nchaski migrate && chaski import-prices '{bulletin}'"],
                         capture_output=True, text=True, timeout=120, env=env)
    output = ran.stdout + ran.stderr
    assert ran.returncode == 0, output
    assert "database at head" in output or "Running upgrade" in output, output
    assert "precios de hoy.csv: imported 9" in output, output
    assert (tmp_path / "db.sqlite").is_file()  # DATABASE_URL came from the env file

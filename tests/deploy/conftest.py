"""Shared helpers for the deploy/ checks: the project root and the tools they need."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
DEPLOY = ROOT / "deploy"


def tool(name: str, *fallbacks: str) -> str:
    """Return the path of a command-line tool; fail (not skip) when it is missing: make test installs it."""
    found = shutil.which(name) or next((f for f in fallbacks if Path(f).is_file()), None)
    if not found:
        pytest.fail(f"{name} not found: `make deploy-tools` (part of `make test`) installs it with apt-get")
    return found

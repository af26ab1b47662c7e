"""Move the wall clock of a process the test starts, with PyPI's libfaketime build."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import libfaketime

LIBFAKETIME = Path(libfaketime.__file__).parent / "vendor" / "libfaketime" / "src" / "libfaketime.so.1"


def clock_at(moment: datetime) -> dict[str, str]:
    """Return the environment that starts a process's clock at `moment` (it ticks on from there)."""
    utc = moment.astimezone(timezone.utc)
    return {"LD_PRELOAD": str(LIBFAKETIME), "FAKETIME": f"@{utc:%Y-%m-%d %H:%M:%S}",
            "FAKETIME_DONT_FAKE_MONOTONIC": "1", "TZ": "UTC"}


def without_faketime(env: dict[str, str]) -> dict[str, str]:
    """Return `env` without libfaketime, for a process that must keep the real clock."""
    if "libfaketime" not in env.get("LD_PRELOAD", ""):
        return dict(env)
    return {k: v for k, v in env.items() if k != "LD_PRELOAD"}

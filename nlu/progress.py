"""Relay Rasa's console output without flooding it: one progress-bar line per interval."""
from __future__ import annotations

import time
from typing import Callable, Iterable, Optional


def _is_progress(line: str) -> bool:
    # tqdm progress bars ("Epochs:  42%|####  | 42/100 [00:20<00:28, 2.1it/s ...").
    return "|" in line and ("it/s" in line or "s/it" in line)


def relay_output(stream: Iterable[str], echo: Callable[[str], object],
                  every: float = 10.0) -> None:
    """Pass Rasa's output to ``echo``, keeping one progress bar line per ``every`` s.

    tqdm redraws its bar with carriage returns, which line iteration turns
    into hundreds of lines.
    """
    last_shown = 0.0
    pending: Optional[str] = None
    for raw in stream:
        line = raw.rstrip("\r\n")
        if _is_progress(line):
            now = time.monotonic()
            if now - last_shown >= every:
                echo(line)
                last_shown, pending = now, None
            else:
                pending = line
            continue
        if pending is not None:
            echo(pending)
            pending = None
        if line.strip():
            echo(line)
    if pending is not None:
        echo(pending)

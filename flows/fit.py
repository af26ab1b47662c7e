"""Fit a reply to the channel: at most two GSM-7 SMS segments, or longer on WhatsApp."""
from __future__ import annotations

from flows.gsm7 import segment_count, to_gsm7

SMS_SEGMENTS = 2


def fits(text: str, channel: str, segments: int = SMS_SEGMENTS) -> bool:
    """Return whether `text` as sent on `channel` costs at most `segments` SMS."""
    return channel != "sms" or segment_count(to_gsm7(text)) <= segments


def join_lines(head: str, lines: list[str], tail: str, channel: str, more: str = "") -> str:
    """Return head + as many lines as fit + tail; `more` (with {n}) says how many were left out."""
    kept: list[str] = []
    for index, line in enumerate(lines):
        left = len(lines) - index - 1
        candidate = kept + [line]
        note = [more.format(n=left)] if left and more else []
        if not fits("\n".join([head, *candidate, *note, tail]), channel):
            break
        kept = candidate
    left = len(lines) - len(kept)
    note = [more.format(n=left)] if left and more else []
    return "\n".join(part for part in [head, *kept, *note, tail] if part)


def shorten(text: str, room: int) -> str:
    """Return `text` cut at a word boundary to at most `room` characters, with "..."."""
    if len(text) <= room:
        return text
    cut = text[: max(room - 3, 0)].rsplit(" ", 1)[0].rstrip(".,;:")
    return f"{cut}..."

"""CSV cells a spreadsheet will not run as formulas: every CSV Chaski writes goes through here."""
from __future__ import annotations

import re

_PHONE_LIKE = re.compile(r"^[+-]?[\d*]+$")  # "+51900000****" or a negative number stay as they are


def safe_cell(value) -> str:
    """Return `value` as text a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    if text[:1] in ("=", "@", "\t", "\r") or (text[:1] in ("+", "-") and not _PHONE_LIKE.match(text)):
        return "'" + text
    return text


def safe_row(values) -> list[str]:
    """Return a row of values, each through safe_cell."""
    return [safe_cell(v) for v in values]

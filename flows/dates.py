"""Read a day the contact writes by SMS: "10/11", "10-11-2026", "10 de noviembre", "hoy", "ayer".

Without a year, the day is the most recent one on or before today (a survey asks
when something happened: sowing, a birth); `expect="future"` takes the next one
on or after today instead. Days more than MAX_DISTANCE from today are refused.
"""
from __future__ import annotations

import re
from datetime import date, timedelta

MAX_DISTANCE = timedelta(days=366)
RELATIVE = {"hoy": 0, "kunan": 0, "ayer": -1, "anteayer": -2, "antier": -2, "antes de ayer": -2,
            "manana": 1, "pasado manana": 2}
MONTHS = ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
          "setiembre", "octubre", "noviembre", "diciembre")
_NUMERIC = re.compile(r"^(\d{1,2})\s*[/.\-]\s*(\d{1,2})(?:\s*[/.\-]\s*(\d{2}|\d{4}))?$")
_WORDS = re.compile(r"^(?:el\s+)?(\d{1,2})\s*(?:de\s+)?([a-z]{3,10})\.?(?:\s*(?:de|del)?\s*(\d{4}))?$")


def read_day(text: str, today: date, expect: str = "past") -> date | None:
    """Return the day `text` names, or None when it cannot be read or is too far from today."""
    answer = " ".join((text or "").strip().lower().replace("ñ", "n").replace("é", "e").split())
    answer = answer.rstrip(".!")
    if answer in RELATIVE:
        return today + timedelta(days=RELATIVE[answer])
    found = _NUMERIC.match(answer)
    if found:
        day, month, year = found.groups()
    else:
        found = _WORDS.match(answer)
        month = _month(found.group(2)) if found else None
        if month is None:
            return None
        day, year = found.group(1), found.group(3)
    day, month = int(day), int(month)
    if year:
        year = int(year) + (2000 if len(year) == 2 else 0)
        picked = _make(year, month, day)
    else:
        picked = _nearest(today, month, day, expect)
    if picked is None or abs(picked - today) > MAX_DISTANCE:
        return None
    return picked


def _month(word: str) -> int | None:
    """Return the month a name or its start names ("nov", "set", "septiembre"), else None."""
    word = word.replace("sept", "set")
    for number, name in enumerate(MONTHS, 1):
        if len(word) >= 3 and name.startswith(word):
            return number
    return None


def _make(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:  # 31/02, 00/13...
        return None


def _nearest(today: date, month: int, day: int, expect: str) -> date | None:
    """Return the latest such day on or before today (or the next on or after it for "future")."""
    years = (today.year, today.year - 1) if expect != "future" else (today.year, today.year + 1)
    for year in years:
        picked = _make(year, month, day)
        if picked is None:
            continue
        if (expect != "future" and picked <= today) or (expect == "future" and picked >= today):
            return picked
    return None

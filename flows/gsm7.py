"""Rewrite SMS text to the GSM-7 alphabet and count what it costs in segments.

One character outside GSM-7 (á, í, ó, ú, curly quotes, emoji...) turns a whole
SMS into UCS-2: 70 characters a segment instead of 160. é, ñ, ü, ¿ and ¡ are in
GSM-7 and stay.
"""
from __future__ import annotations

import math
import unicodedata

GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = "^{}\\[~]|€\f"
_BASIC = frozenset(GSM7_BASIC) - {"\x1b"}
_EXTENSION = frozenset(GSM7_EXTENSION)

# Explicit replacements first; anything else outside GSM-7 loses its accent via
# Unicode decomposition, and what still does not fit becomes "?".
REPLACEMENTS = {
    "á": "a", "í": "i", "ó": "o", "ú": "u", "Á": "A", "Í": "I", "Ó": "O", "Ú": "U",
    "â": "a", "ê": "e", "î": "i", "ô": "o", "û": "u", "ã": "a", "õ": "o", "ç": "c",
    "‘": "'", "’": "'", "‚": "'", "′": "'", "´": "'", "`": "'",
    "“": '"', "”": '"', "„": '"', "″": '"', "«": '"', "»": '"',
    "–": "-", "—": "-", "‐": "-", "−": "-", "…": "...", "•": "-", "·": "-",
    "\u00a0": " ", "\u2009": " ", "\u202f": " ", "\t": " ", "º": "o", "ª": "a",
}

# Joiners, variation selectors and emoji skin tones: dropped, not shown as "?".
_INVISIBLE = frozenset("\u200d\ufe0e\ufe0f" + "".join(chr(c) for c in range(0x1F3FB, 0x1F400)))

GSM7_SINGLE, GSM7_MULTI = 160, 153
UCS2_SINGLE, UCS2_MULTI = 70, 67


def is_gsm7(text: str) -> bool:
    """Return whether every character of `text` is in GSM-7 (basic or extension)."""
    return all(ch in _BASIC or ch in _EXTENSION for ch in text)


def _rewrite_char(ch: str) -> str:
    if ch in _BASIC or ch in _EXTENSION:
        return ch
    if ch in REPLACEMENTS:
        return REPLACEMENTS[ch]
    stripped = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
    if stripped and all(c in _BASIC or c in _EXTENSION for c in stripped):
        return stripped
    if unicodedata.category(ch).startswith(("M", "C")) or ch in _INVISIBLE:
        return ""
    return "?"


def to_gsm7(text: str) -> str:
    """Rewrite `text` so that it fits the GSM-7 alphabet."""
    return "".join(_rewrite_char(ch) for ch in text)


def _gsm7_segments(text: str) -> int:
    septets = [2 if ch in _EXTENSION else 1 for ch in text]
    total = sum(septets)
    if total <= GSM7_SINGLE:
        return 1
    # An escape pair is never split across two segments.
    segments, used = 1, 0
    for width in septets:
        if used + width > GSM7_MULTI:
            segments, used = segments + 1, 0
        used += width
    return segments


def _ucs2_segments(text: str) -> int:
    units = len(text.encode("utf-16-le")) // 2
    if units <= UCS2_SINGLE:
        return 1
    return math.ceil(units / UCS2_MULTI)


def segment_count(text: str) -> int:
    """Return how many SMS segments `text` costs as sent (0 for an empty text)."""
    if not text:
        return 0
    return _gsm7_segments(text) if is_gsm7(text) else _ucs2_segments(text)


def encoding(text: str) -> str:
    """Return "GSM-7" or "UCS-2": the encoding an SMS with `text` is sent in."""
    return "GSM-7" if is_gsm7(text) else "UCS-2"

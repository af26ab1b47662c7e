"""Look up reply texts in the per-language catalogues under flows/texts/."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

TEXTS_DIR = Path(__file__).resolve().parent / "texts"
DEFAULT_LANGUAGE = "es"
LANGUAGES = ("es", "qu", "ay")


@lru_cache(maxsize=None)
def catalogue(language: str) -> dict:
    """Return the catalogue of `language` (empty when there is none)."""
    path = TEXTS_DIR / f"{language}.yml"
    if not path.exists():
        return {}
    with path.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh) or {}


def t(key: str, language: str = DEFAULT_LANGUAGE, **values) -> str:
    """Return text `key` in `language`, falling back to Spanish, with `values` filled in."""
    text = catalogue(language).get(key)
    if text is None:
        text = catalogue(DEFAULT_LANGUAGE)[key]
    return text.format(**values) if values else text


def language_name(language: str) -> str:
    """Return a language's own name, e.g. Runasimi for qu."""
    return catalogue(language).get("_meta", {}).get("name", language)


def is_checked(language: str) -> bool:
    """Return whether a native speaker has checked the catalogue of `language`."""
    return bool(catalogue(language).get("_meta", {}).get("native_speaker_checked"))

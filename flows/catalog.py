"""Look up reply texts in the per-language catalogues under flows/texts/."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

TEXTS_DIR = Path(__file__).resolve().parent / "texts"
DEFAULT_LANGUAGE = "es"
LANGUAGES = ("es", "qu", "ay")
# Each version of the Spanish consent question (consent_ask) people answered, by id, with the
# SHA-256 of its text. A new wording gets a new id (es.yml _meta consent_version); old ids stay,
# since contacts keep the version they said yes to (tests/flows/test_consent_version.py).
CONSENT_VERSIONS = {
    "c1": "b4e3fd20b803822497647079bf0170d323037d7406cd2bb7fe7002872b105857",
}


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


def consent_version() -> str:
    """Return the id of the consent text in use (recorded on each consent)."""
    return catalogue(DEFAULT_LANGUAGE)["_meta"]["consent_version"]

"""Look up reply texts in the per-language catalogues under flows/texts/.

Texts saved in the console (the Textos page) override the YAML: bot/translations hands
them to `use_overrides` whenever their version moves, in every process. A text missing
in a language falls back to Spanish, text by text.
"""
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


# (kind, key, field, lang) -> text saved in the console; kind "reply" (field "") or "topic".
_overrides: dict[tuple[str, str, str, str], str] = {}


def use_overrides(texts: dict[tuple[str, str, str, str], str]) -> None:
    """Replace the texts saved in the console that override the YAML."""
    global _overrides
    _overrides = dict(texts)


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
    text = _overrides.get(("reply", key, "", language)) or catalogue(language).get(key)
    if text is None:
        text = (_overrides.get(("reply", key, "", DEFAULT_LANGUAGE))
                or catalogue(DEFAULT_LANGUAGE)[key])
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


def topic_text(topic_id: str, field: str, language: str, spanish: str) -> str:
    """Return a topic's answer `field` ("sms", "part1"...) in `language`, else `spanish`."""
    return _overrides.get(("topic", topic_id, field, language)) or spanish

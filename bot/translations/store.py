"""Every translatable text as a row (es, qu, ay), its checks, saving, and the version counter.

The bot reads overrides through flows.catalog; `use_version` reloads them in this process
when the one-row counter (TextsVersion), which the engine reads with each contact, has
moved, so a saved text is used at the next inbound message in every web worker, without
a restart.
"""
from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from flows import catalog
from flows.gsm7 import segment_count, to_gsm7
from flows.knowledge import knowledge_base
from models import TextOverride, TextsVersion

EDITABLE = ("qu", "ay")  # Spanish is the reference (and the consent text is versioned)
TOPIC_SMS_SEGMENTS = 2
_PLACEHOLDER = re.compile(r"{(\w*)}")
_loaded = {"version": None}
_lock = threading.Lock()


class TextError(ValueError):
    """A text that cannot be saved (unknown key, placeholders, too long)."""


@dataclass
class Row:
    """One text with its Spanish reference and its translations."""

    kind: str
    key: str
    field: str
    es: str
    texts: dict = field(default_factory=dict)  # lang -> effective text ("" when missing)
    overrides: dict = field(default_factory=dict)  # lang -> TextOverride

    @property
    def ident(self) -> str:
        return f"{self.kind}:{self.key}:{self.field}"

    def checked(self, lang: str) -> bool:
        o = self.overrides.get(lang)
        return bool(o and o.checked_at) or (not o and lang != "es" and catalog.is_checked(lang)
                                            and bool(self.texts.get(lang)))

    def changed_since_checked(self, lang: str) -> bool:
        o = self.overrides.get(lang)
        return bool(o and o.checked_at and o.es_hash != es_hash(self.es))


def es_hash(text: str) -> str:
    """Return the SHA-256 of a Spanish text (what a check was made against)."""
    return hashlib.sha256(text.encode()).hexdigest()


def shipped() -> list[tuple[str, str, str, dict]]:
    """Return (kind, key, field, {lang: YAML text}) of every reply key and topic answer."""
    out = []
    for key, es in catalog.catalogue("es").items():
        if key.startswith("_") or not isinstance(es, str):
            continue
        out.append(("reply", key, "", {lang: catalog.catalogue(lang).get(key) or ""
                                       for lang in catalog.LANGUAGES}))
    for topic in knowledge_base().topics.values():
        out.append(("topic", topic.id, "sms", {"es": topic.sms}))
        for n, part in enumerate(topic.parts, 1):
            out.append(("topic", topic.id, f"part{n}", {"es": part}))
    return out


def rows(session: Session) -> list[Row]:
    """Return every text with its overrides applied."""
    saved = {(o.kind, o.key, o.field, o.lang): o for o in session.scalars(select(TextOverride))}
    result = []
    for kind, key, fld, yaml_texts in shipped():
        row = Row(kind, key, fld, es=yaml_texts["es"])
        for lang in catalog.LANGUAGES:
            o = saved.get((kind, key, fld, lang))
            if o is not None:
                row.overrides[lang] = o
            row.texts[lang] = o.text if o is not None else yaml_texts.get(lang, "")
        result.append(row)
    return result


def placeholders(text: str) -> set[str]:
    return set(_PLACEHOLDER.findall(text or ""))


def check(row: Row, lang: str, text: str) -> None:
    """Raise TextError unless `text` may replace the `lang` text of `row`."""
    if lang not in EDITABLE:
        raise TextError(f"solo se editan {', '.join(EDITABLE)}; el castellano es la referencia")
    if not text.strip():
        raise TextError("el texto está vacío (sin texto se usa el castellano)")
    missing, extra = placeholders(row.es) - placeholders(text), placeholders(text) - placeholders(row.es)
    if missing or extra:
        parts = [f"faltan {', '.join('{' + p + '}' for p in sorted(missing))}"] if missing else []
        parts += [f"sobran {', '.join('{' + p + '}' for p in sorted(extra))}"] if extra else []
        raise TextError("los {marcadores} deben ser los del castellano: " + "; ".join(parts))
    if row.kind == "topic" and row.field == "sms" and \
            segment_count(to_gsm7(text)) > TOPIC_SMS_SEGMENTS:
        raise TextError(f"la respuesta SMS de un tema cabe en {TOPIC_SMS_SEGMENTS} SMS: esta "
                        f"ocupa {segment_count(to_gsm7(text))}")


def find(session: Session, kind: str, key: str, fld: str) -> Row:
    """Return the row of one text, or raise TextError."""
    for row in rows(session):
        if (row.kind, row.key, row.field) == (kind, key, fld):
            return row
    raise TextError(f"texto desconocido {kind}:{key}:{fld}")


def save(session: Session, row: Row, lang: str, text: str, checked: bool, who: str,
         now: datetime) -> str:
    """Store one text (and/or its native-speaker check); return what changed."""
    text = (text or "").strip()
    o = row.overrides.get(lang)
    edited = text != (row.texts.get(lang) or "")
    if edited:
        check(row, lang, text)
    elif lang not in EDITABLE:
        raise TextError(f"solo se editan {', '.join(EDITABLE)}")
    if o is None:
        if not text:
            raise TextError("el texto está vacío")
        o = TextOverride(kind=row.kind, key=row.key, field=row.field, lang=lang, text=text)
        session.add(o)
        row.overrides[lang] = o
    what = []
    if edited or o.id is None:
        o.text, o.updated_by, o.updated_at = text, who, now
        o.checked_by = o.checked_at = o.es_hash = None  # an edit needs a new check
        what.append("edited")
    if checked and o.checked_at is None:
        o.checked_by, o.checked_at, o.es_hash = who, now, es_hash(row.es)
        what.append("checked")
    elif not checked and o.checked_at is not None:
        o.checked_by = o.checked_at = o.es_hash = None
        what.append("unchecked")
    if what:
        bump(session)
    return ", ".join(what)


def bump(session: Session) -> None:
    """Move the version counter: every process reloads the overrides at its next message."""
    if session.get(TextsVersion, 1) is None:
        session.add(TextsVersion(id=1, version=1))
        session.flush()
    else:
        session.execute(update(TextsVersion).where(TextsVersion.id == 1)
                        .values(version=TextsVersion.version + 1))


def version_column():
    """Return the counter as a scalar subquery (NULL before any save), to read beside other rows."""
    return select(TextsVersion.version).where(TextsVersion.id == 1).scalar_subquery()


def is_loaded(version: int | None) -> bool:
    """Tell whether the overrides of `version` (read with version_column) are the loaded ones."""
    return (version or 0) == _loaded["version"]


def use_version(session: Session, version: int | None) -> None:
    """Reload the overrides with `session` if `version` (read with version_column) is not loaded."""
    version = version or 0
    if is_loaded(version):
        return
    with _lock:
        texts = {(o.kind, o.key, o.field, o.lang): o.text
                 for o in session.scalars(select(TextOverride))}
        catalog.use_overrides(texts)
        _loaded["version"] = version


def forget() -> None:
    """Drop the loaded overrides (tests that switch databases call it)."""
    with _lock:
        catalog.use_overrides({})
        _loaded["version"] = None

"""Turn reviewed messages into Rasa 3.x training data (nlu/data/reviewed.yml)."""
from __future__ import annotations

import json
import os
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.settings import PROJECT_ROOT
from models import REDACTED, Message, Review, utcnow
from nlu.classifier import ENTITY_NAMES, INTENTS

DATA_DIR = PROJECT_ROOT / "nlu" / "data"
EXPORT_NAME = "reviewed.yml"
# Never exported: the topic whose words must not leave the database.
NEVER_EXPORTED = {"gbv_support"}
ANNOTATION = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\})")


class EntityNotFound(ValueError):
    """An entity value (or a synonym of it) does not occur in the message text."""


def fold(text: str) -> str:
    """Return `text` lower-cased without accents, one character per character."""
    out = []
    for char in unicodedata.normalize("NFC", text):
        bare = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
        out.append(bare.lower() if len(bare) == 1 else char.lower())
    return "".join(out)


def clean_text(text: str) -> str:
    """Return `text` on one line, without brackets Rasa would read as annotations."""
    text = unicodedata.normalize("NFC", text).replace("[", "(").replace("]", ")")
    return " ".join(text.split())


def dedupe_key(text: str) -> str:
    return " ".join(fold(ANNOTATION.sub(r"\1", text)).split())


def load_synonyms(data_dir: Path = DATA_DIR) -> dict[str, list[str]]:
    """Return canonical value -> surface forms, from the project's synonyms file."""
    path = data_dir / "synonyms.yml"
    if not path.is_file():
        return {}
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    synonyms: dict[str, list[str]] = {}
    for item in doc.get("nlu") or []:
        if "synonym" in item:
            forms = [line[2:].strip() for line in str(item.get("examples", "")).splitlines()
                     if line.strip().startswith("- ")]
            synonyms.setdefault(str(item["synonym"]), []).extend(forms)
    return synonyms


def locate(text: str, value: str, synonyms: dict[str, list[str]]) -> tuple[int, int]:
    """Return the span of `value` (or one of its synonyms) in `text`, as whole words."""
    folded = fold(text)
    forms = sorted({value, *synonyms.get(value, [])}, key=len, reverse=True)
    for form in forms:
        match = re.search(r"(?<!\w)" + re.escape(fold(form)) + r"(?!\w)", folded)
        if match:
            return match.span()
    raise EntityNotFound(value)


def parse_entities(raw: str) -> dict[str, str]:
    """Read `product=papa, location=huancayo` into a dict; raise ValueError if malformed."""
    entities: dict[str, str] = {}
    for part in re.split(r"[,;\n]+", raw or ""):
        part = part.strip()
        if not part:
            continue
        name, sep, value = part.partition("=")
        name, value = name.strip().lower(), fold(value.strip())
        if not sep or not value:
            raise ValueError(f"«{part}» no tiene la forma entidad=valor")
        if name not in ENTITY_NAMES:
            raise ValueError(f"entidad desconocida «{name}» (válidas: {', '.join(ENTITY_NAMES)})")
        entities[name] = value
    return entities


def annotate(text: str, entities: dict[str, str], synonyms: dict[str, list[str]]) -> str:
    """Return `text` with Rasa entity annotations; raise EntityNotFound for a missing value."""
    spans = sorted((*locate(text, value, synonyms), name, value) for name, value in entities.items())
    out, pos = [], 0
    for start, end, name, value in spans:
        if start < pos:
            raise EntityNotFound(value)  # overlapping entities cannot be annotated
        surface = text[start:end]
        out.append(text[pos:start])
        if surface == value:
            out.append(f"[{surface}]({name})")
        else:
            out.append(f"[{surface}]" + json.dumps({"entity": name, "value": value},
                                                    ensure_ascii=False))
        pos = end
    out.append(text[pos:])
    return "".join(out)


def existing_examples(data_dir: Path, skip: str = EXPORT_NAME) -> set[str]:
    """Return the dedupe keys of every example already in the other training files."""
    keys: set[str] = set()
    for path in sorted(data_dir.rglob("*.yml")):
        if path.name == skip:
            continue
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for item in doc.get("nlu") or []:
            if "intent" in item:
                for line in str(item.get("examples", "")).splitlines():
                    if line.strip().startswith("- "):
                        keys.add(dedupe_key(line.strip()[2:]))
    return keys


@dataclass
class ExportReport:
    path: Path
    examples: int = 0
    by_intent: dict[str, int] = field(default_factory=dict)
    skipped_existing: int = 0
    skipped_unannotatable: int = 0
    written: bool = False


def exportable_reviews(session: Session) -> list[Review]:
    """Return the reviews that may leave the database, newest verdict last."""
    return list(session.scalars(
        select(Review).join(Message, Message.id == Review.message_id)
        .where(Review.intent.not_in(NEVER_EXPORTED), Review.intent.in_(INTENTS),
               Message.redacted.is_(False), Message.body.is_not(None),
               (Message.flow.is_(None)) | (Message.flow != "support"),
               Review.text != REDACTED)
        .order_by(Review.created_at, Review.id)))


def render_yaml(by_intent: dict[str, list[str]]) -> str:
    """Return the Rasa 3.x YAML document for these examples."""
    lines = ['version: "3.1"', "",
             "# Written by `flask --app server export-training` from reviewed messages.",
             "# Do not edit by hand: the next export rewrites this file.", "", "nlu:"]
    for intent in sorted(by_intent):
        lines += [f"- intent: {intent}", "  examples: |"]
        lines += [f"    - {example}" for example in sorted(by_intent[intent])]
    return "\n".join(lines) + "\n"


def export_training(session: Session, out_dir: Path = DATA_DIR,
                    synonyms_dir: Path = DATA_DIR) -> ExportReport:
    """Write every exportable review to `out_dir`/reviewed.yml, once per text."""
    out_dir = Path(out_dir)
    report = ExportReport(path=out_dir / EXPORT_NAME)
    synonyms = load_synonyms(Path(synonyms_dir))
    known = existing_examples(out_dir) | (existing_examples(Path(synonyms_dir))
                                          if Path(synonyms_dir) != out_dir else set())
    latest: dict[str, tuple[Review, str]] = {}
    reviews = exportable_reviews(session)
    for review in reviews:
        text = clean_text(review.text)
        key = dedupe_key(text)
        if not key:
            continue
        if key in known:
            report.skipped_existing += 1
            continue
        try:
            latest[key] = (review, annotate(text, review.entities or {}, synonyms))
        except EntityNotFound:
            report.skipped_unannotatable += 1
    by_intent: dict[str, list[str]] = {}
    for review, example in latest.values():
        by_intent.setdefault(review.intent, []).append(example)
    report.examples = len(latest)
    report.by_intent = {k: len(v) for k, v in sorted(by_intent.items())}
    if latest:
        out_dir.mkdir(parents=True, exist_ok=True)
        tmp = out_dir / f".{EXPORT_NAME}.tmp"  # hidden: never read as training data
        tmp.write_text(render_yaml(by_intent), encoding="utf-8")
        os.replace(tmp, report.path)
        report.written = True
        now = utcnow()
        for review in reviews:
            review.exported_at = now
    return report

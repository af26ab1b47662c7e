"""`knowledge export DIR` and `knowledge import DIR`: the published knowledge base as one
YAML file per category, and back, with every problem reported by file and line.

The files are written in one canonical form (bot/topics/content.py), so exporting,
importing and exporting again gives the same bytes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import yaml
from sqlalchemy.orm import Session

from bot.topics import store
from bot.topics.content import canonical, for_yaml
from flows.kb_schema import file_problems, topic_problems

HEADER = "# Chaski knowledge base: one category. Edit, then `knowledge import` (drafts until published).\n"


class _Dumper(yaml.SafeDumper):
    """Block style, lists indented under their key, long texts folded at 100 columns."""

    def increase_indent(self, flow=False, indentless=False):
        return super().increase_indent(flow, False)


def dump_category(category_id: str, title: str, contents: list[dict]) -> str:
    """Return the canonical YAML text of one category file."""
    data = {"category": category_id, "title": title, "topics": [for_yaml(c) for c in contents]}
    return HEADER + yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100,
                              default_flow_style=False)


def export(session: Session, directory: Path) -> list[Path]:
    """Write every published, not retired topic into DIR/<category>.yml; return the files."""
    directory.mkdir(parents=True, exist_ok=True)
    by_category: dict[str, list[dict]] = {}
    for version in store.published_versions(session):
        if not version.retired:
            by_category.setdefault(version.category, []).append(version.content)
    written = []
    for category_id, title in store.categories(session):
        if category_id in by_category:
            path = directory / f"{category_id}.yml"
            path.write_text(dump_category(category_id, title, by_category[category_id]), encoding="utf-8")
            written.append(path)
    return written


@dataclass(frozen=True)
class Problem:
    """One problem of an imported file, where it is."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


@dataclass
class ImportResult:
    """What an import found and did."""

    problems: list[Problem] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: int = 0
    published: bool = False


def _lines(text: str) -> tuple[list[tuple[int, dict[str, int]]], dict[str, int]]:
    """Return the lines of the file's keys and of each topic and its fields (1-based)."""
    root = yaml.compose(text)
    head, topics = {}, []
    if isinstance(root, yaml.MappingNode):
        for key, value in root.value:
            head[key.value] = key.start_mark.line + 1
            if key.value == "topics" and isinstance(value, yaml.SequenceNode):
                for item in value.value:
                    fields = {}
                    if isinstance(item, yaml.MappingNode):
                        fields = {k.value: k.start_mark.line + 1 for k, _ in item.value}
                    topics.append((item.start_mark.line + 1, fields))
    return topics, head


def _field_line(fields: dict[str, int], start: int, name: str) -> int:
    return fields.get(name.split("[")[0], start)


def read_dir(directory: Path) -> tuple[list[tuple[str, str, list[dict]]], list[Problem]]:
    """Read every DIR/*.yml: [(category, title, topics)] and every problem found."""
    problems: list[Problem] = []
    found, seen = [], {}
    paths = sorted(directory.glob("*.yml"))
    if not paths:
        problems.append(Problem(str(directory), 0, "no hay archivos .yml en la carpeta"))
    for path in paths:
        text = path.read_text(encoding="utf-8")
        try:
            data = yaml.safe_load(text)
            topic_lines, head = _lines(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            problems.append(Problem(path.name, mark.line + 1 if mark else 1,
                                    f"YAML no válido: {getattr(exc, 'problem', exc)}"))
            continue
        for name, message in file_problems(data):
            problems.append(Problem(path.name, head.get(name, 1), message))
        if not isinstance(data, dict) or not isinstance(data.get("topics"), list):
            continue
        for raw, (start, fields) in zip(data["topics"], topic_lines):
            for name, message in topic_problems(raw, weak_ok=True):
                ident = raw.get("id") if isinstance(raw, dict) else None
                problems.append(Problem(path.name, _field_line(fields, start, name),
                                        f"tema {ident!r}: {message}"))
            ident = raw.get("id") if isinstance(raw, dict) else None
            if ident in seen:
                problems.append(Problem(path.name, start, f"tema {ident!r} repetido (ya en {seen[ident]})"))
            elif ident:
                seen[ident] = f"{path.name}:{start}"
        where = [(path.name, start, fields) for start, fields in topic_lines]
        found.append((str(data.get("category")), str(data.get("title")), list(zip(data["topics"], where))))
    return found, problems


def import_dir(session: Session, directory: Path, editor: store.Editor, now: datetime, *,
               publish: bool = False) -> ImportResult:
    """Import DIR: changed topics become drafts (or are published with `publish`); all or nothing."""
    found, problems = read_dir(directory)
    result = ImportResult(problems=problems, published=publish)
    if problems:
        return result
    for category_id, title, topics in found:
        store.set_category(session, category_id, title)
        for raw, (name, start, fields) in topics:
            content = canonical(raw)
            current = store.latest(session, content["id"], "published")
            if current is not None and current.content == content and current.category == category_id \
                    and not current.retired:
                result.unchanged += 1
                continue
            try:
                version = store.save_draft(session, content, category_id, editor, now, note="importado")
            except store.TopicRefused as exc:
                ident = content["id"]
                result.problems += [Problem(name, _field_line(fields, start, f), f"tema {ident!r}: {m}")
                                    for f, m in exc.problems] or [Problem(name, start, str(exc))]
                continue
            if publish:
                store.publish_reviewed(session, version, editor, now, reason="knowledge import --publish")
            result.changed.append(content["id"])
    if publish and result.changed and not result.problems:
        store.bump(session, now)
    return result

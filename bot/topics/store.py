"""The working copy of the knowledge base in the database: seed, drafts, four-eyes
publication, retirement, history and restore, and the per-worker published cache.

Every publication bumps one counter row (KbRevision); each web worker reads it
once per inbound message and reloads the published topics when it moved, so a
published edit answers the next message in every worker at once.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.topics.content import canonical
from flows import knowledge
from flows.kb_schema import topic_problems
from models import AuditLog, KbCategory, KbRevision, TopicVersion

EDITOR_ROLES = frozenset({"admin", "technician"})
SEED_AUTHOR = "semilla (archivos YAML del repositorio)"


class TopicRefused(ValueError):
    """An edit or publication that is not allowed; `problems` lists (field, message)."""

    def __init__(self, message: str, problems: list[tuple[str, str]] | None = None):
        super().__init__(message)
        self.problems = problems or []


@dataclass(frozen=True)
class Editor:
    """Who acts: a console user, or a command (email only)."""

    id: int | None
    email: str
    role: str = "technician"


def _audit(session, editor: Editor, action: str, target: str, **detail) -> None:
    session.add(AuditLog(user_id=editor.id, email=editor.email, action=action, target=target,
                         detail=detail))


def bump(session: Session, now: datetime) -> int:
    """Count one more publication (creating the counter row) and return the new value."""
    row = session.get(KbRevision, 1, with_for_update=True)
    if row is None:
        row = KbRevision(id=1, counter=0, updated_at=now)
        session.add(row)
    row.counter += 1
    row.updated_at = now
    session.flush()
    return row.counter


def revision_column():
    """Return the publication counter as a scalar subquery, to read beside other rows."""
    return select(KbRevision.counter).where(KbRevision.id == 1).scalar_subquery()


def revision(session: Session) -> int | None:
    """Return the publication counter, or None while the database holds no working copy."""
    return session.scalar(select(revision_column()))


def latest(session: Session, topic_id: str, status: str | None = None) -> TopicVersion | None:
    """Return the newest version of a topic (with `status`, if given)."""
    query = select(TopicVersion).where(TopicVersion.topic_id == topic_id)
    if status:
        query = query.where(TopicVersion.status == status)
    return session.scalar(query.order_by(TopicVersion.number.desc()).limit(1))


def published_versions(session: Session) -> list[TopicVersion]:
    """Return the published version of every topic (retired ones too), in the order topics arrived."""
    first = dict(session.execute(select(TopicVersion.topic_id, func.min(TopicVersion.id))
                                 .group_by(TopicVersion.topic_id)).all())
    rows = session.scalars(select(TopicVersion).where(TopicVersion.status == "published"))
    return sorted(rows, key=lambda v: first[v.topic_id])


def categories(session: Session) -> list[tuple[str, str]]:
    """Return [(category id, title)] in their stored order."""
    return [(c.id, c.title) for c in session.scalars(
        select(KbCategory).order_by(KbCategory.position, KbCategory.id))]


def set_category(session: Session, category_id: str, title: str) -> None:
    """Add a category, or change its title."""
    row = session.get(KbCategory, category_id)
    if row is None:
        position = (session.scalar(select(func.max(KbCategory.position))) or 0) + 1
        session.add(KbCategory(id=category_id, title=title, position=position))
    elif row.title != title:
        row.title = title
    session.flush()


def _next_number(session: Session, topic_id: str) -> int:
    return (session.scalar(select(func.max(TopicVersion.number))
                           .where(TopicVersion.topic_id == topic_id)) or 0) + 1


def _add_version(session, topic_id, category, content, editor: Editor, now, *, status, note,
                 retired=False) -> TopicVersion:
    version = TopicVersion(topic_id=topic_id, number=_next_number(session, topic_id), status=status,
                           category=category, content=content, retired=retired, note=note,
                           author_id=editor.id, author_email=editor.email, created_at=now)
    session.add(version)
    session.flush()
    return version


def _publish(session: Session, version: TopicVersion, editor: Editor, now: datetime) -> None:
    for old in session.scalars(select(TopicVersion).where(
            TopicVersion.topic_id == version.topic_id, TopicVersion.status == "published",
            TopicVersion.id != version.id)):
        old.status = "superseded"
    version.status, version.published_by_email, version.published_at = "published", editor.email, now


def ensure_seeded(session: Session, now: datetime) -> int:
    """Add every shipped topic the database lacks, as published (reviewed in git); return how many."""
    seed = knowledge.seed_knowledge_base()
    known = set(session.scalars(select(TopicVersion.topic_id).distinct()))
    for category in seed.categories.values():
        if session.get(KbCategory, category.id) is None:
            set_category(session, category.id, category.title)
    editor = Editor(None, SEED_AUTHOR, "system")
    added = 0
    missing = [t for t in seed.topics.values() if t.id not in known]
    raws = _seed_raws() if missing else {}
    for path_topic in missing:
        raw = raws[path_topic.id]
        version = _add_version(session, path_topic.id, path_topic.category, canonical(raw), editor,
                               now, status="draft", note="semilla")
        _publish(session, version, editor, now)
        added += 1
    if added or revision(session) is None:
        bump(session, now)
    if added:
        _audit(session, editor, "kb_seed", "knowledge", topics=added)
    return added


def _seed_raws() -> dict[str, dict]:
    """Return {topic id: its entry as written in the shipped YAML}."""
    return {raw["id"]: raw for path in sorted(knowledge.KB_DIR.glob("*.yml"))
            for raw in yaml.safe_load(path.read_text(encoding="utf-8"))["topics"]}


def save_draft(session: Session, content: dict, category: str, editor: Editor, now: datetime, *,
               note: str | None = None, retired: bool = False, new: bool = False) -> TopicVersion:
    """Store an edit as a draft (replacing the author's own open draft); refuse invalid content."""
    if editor.role not in EDITOR_ROLES:
        raise TopicRefused("Solo administración y técnicos editan el conocimiento.")
    content = canonical(content)
    problems = topic_problems(content)
    if session.get(KbCategory, category) is None:
        problems.append(("category", f"categoría desconocida {category!r}"))
    if problems:
        raise TopicRefused("El tema tiene problemas: no se guardó nada.", problems)
    topic_id = content["id"]
    if new and latest(session, topic_id) is not None:
        raise TopicRefused(f"Ya existe un tema con id {topic_id!r}: elige otro.",
                           [("id", "ese id ya existe")])
    for draft in session.scalars(select(TopicVersion).where(
            TopicVersion.topic_id == topic_id, TopicVersion.status == "draft")):
        draft.status = "discarded"  # one open draft per topic: the newest edit
    version = _add_version(session, topic_id, category, content, editor, now, status="draft",
                           note=note or ("retirar" if retired else "edición"), retired=retired)
    _audit(session, editor, "kb_draft", f"topic:{topic_id}", version=version.number,
           retired=retired, note=version.note)
    return version


def publish(session: Session, version_id: int, editor: Editor, now: datetime) -> TopicVersion:
    """Publish a draft: only a second person with the role (four-eyes), audited."""
    version = session.get(TopicVersion, version_id, with_for_update=True)
    if version is None or version.status != "draft":
        raise TopicRefused("Ese borrador ya no está pendiente (¿lo publicó o descartó otra persona?).")
    if editor.role not in EDITOR_ROLES:
        raise TopicRefused("Solo administración y técnicos publican el conocimiento.")
    if version.author_email == editor.email or (editor.id is not None and version.author_id == editor.id):
        raise TopicRefused("Otra persona debe revisar y publicar este borrador (cuatro ojos).")
    _publish(session, version, editor, now)
    counter = bump(session, now)
    _audit(session, editor, "kb_publish", f"topic:{version.topic_id}", version=version.number,
           author=version.author_email, retired=version.retired, revision=counter)
    return version


def publish_reviewed(session: Session, version: TopicVersion, editor: Editor, now: datetime, *,
                     reason: str) -> None:
    """Publish content already reviewed elsewhere (git), without a second console user; audited."""
    _publish(session, version, editor, now)
    _audit(session, editor, "kb_publish_reviewed", f"topic:{version.topic_id}",
           version=version.number, reason=reason)


def discard(session: Session, version_id: int, editor: Editor, now: datetime) -> TopicVersion:
    """Drop a draft without publishing it."""
    version = session.get(TopicVersion, version_id)
    if version is None or version.status != "draft":
        raise TopicRefused("Ese borrador ya no está pendiente.")
    if editor.role not in EDITOR_ROLES:
        raise TopicRefused("Solo administración y técnicos editan el conocimiento.")
    version.status = "discarded"
    _audit(session, editor, "kb_discard", f"topic:{version.topic_id}", version=version.number)
    return version


def restore(session: Session, topic_id: str, number: int, editor: Editor, now: datetime) -> TopicVersion:
    """Make an old version the content of a new draft (published like any other)."""
    old = session.scalar(select(TopicVersion).where(TopicVersion.topic_id == topic_id,
                                                    TopicVersion.number == number))
    if old is None:
        raise TopicRefused("Esa versión no existe.")
    return save_draft(session, dict(old.content), old.category, editor, now,
                      note=f"restaurada de la versión {number}", retired=old.retired)


def history(session: Session, topic_id: str) -> list[TopicVersion]:
    """Return every version of a topic, newest first."""
    return list(session.scalars(select(TopicVersion).where(TopicVersion.topic_id == topic_id)
                                .order_by(TopicVersion.number.desc())))


def drafts(session: Session) -> list[TopicVersion]:
    """Return the drafts waiting for a second person, oldest first."""
    return list(session.scalars(select(TopicVersion).where(TopicVersion.status == "draft")
                                .order_by(TopicVersion.created_at, TopicVersion.id)))


def build_knowledge_base(session: Session) -> knowledge.KnowledgeBase:
    """Return the published, not retired topics as the knowledge base the bot answers from."""
    topics = [knowledge.topic_from_raw(v.content, v.category, v.number)
              for v in published_versions(session) if not v.retired]
    return knowledge.build(categories(session), topics)


class PublishedCache:
    """One worker's copy of the published topics, reloaded when the counter row moves."""

    def __init__(self):
        self.counter: int | None = None
        self.kb: knowledge.KnowledgeBase | None = None

    def current(self, session: Session, counter: int | None) -> knowledge.KnowledgeBase:
        """Return the published knowledge base (the shipped seed until the database has one).

        `counter` is the revision, read by the caller with revision_column.
        """
        if counter is None:
            knowledge.install(None)
            return knowledge.seed_knowledge_base()
        if counter != self.counter or self.kb is None:
            self.kb = build_knowledge_base(session)
            self.counter = counter
            knowledge.install(self.kb)  # readers of knowledge_base() see it too (console pages)
        return self.kb

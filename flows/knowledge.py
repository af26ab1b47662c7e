"""Load the agroecology knowledge base and find the topic a question is about.

The shipped seed lives in versioned YAML files under flows/data/agroecology/,
one file per category. Once staff edit topics, the bot answers from the
published working copy in the database: bot/topics installs it here with
`install()`, and `knowledge_base()` returns whichever is current (the same
name and shape for every reader). Matching is deterministic (no model) and is
the same for shipped and edited topics (flows/matching.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from flows import matching
from nlu.rules import normalise

KB_DIR = Path(__file__).resolve().parent / "data" / "agroecology"
CATEGORY_ORDER = ("abonos", "plagas", "agua_suelo", "cultivos", "animales", "camelidos", "ovinos",
                  "mercados", "derechos")
# Categories never used in anything proactive (digests, tips, broadcast suggestions), R5.
PRIVATE_CATEGORIES = frozenset({"derechos"})
MIN_SCORE = matching.MIN_SCORE
REQUIRED = ("id", "title", "keywords", "sms", "whatsapp", "sources", "short_source", "checked")

# Value of the NLU `topic` entity -> topic id, or category id when it is generic.
ENTITY_TOPICS = {
    "biol": "biol", "bocashi": "bocashi", "compost": "compost", "humus": "humus",
    "purin": "purin", "rancha": "rancha", "gorgojo": "gorgojo", "semilla": "semilla_papa",
    "rotacion": "rotacion", "cosecha de agua": "qochas", "asociacion": "rotacion",
    "abono": "abonos", "plaga": "plagas", "riego": "agua_suelo", "suelo": "agua_suelo",
}


@dataclass(frozen=True)
class Topic:
    """One answer of the knowledge base."""

    id: str
    title: str
    category: str
    keywords: tuple[str, ...]
    sms: str
    parts: tuple[str, ...]
    sources: tuple[dict, ...]
    short_source: str
    checked: str
    regions: tuple[str, ...] = ()
    altitude: str | None = None
    version: int | None = None  # the published version in the database; None for the seed

    @property
    def private(self) -> bool:
        """Tell whether the topic must never be sent proactively (women's rights, R5)."""
        return self.category in PRIVATE_CATEGORIES


@dataclass(frozen=True)
class Category:
    """A group of topics shown together in the numbered list."""

    id: str
    title: str
    topic_ids: tuple[str, ...]


@dataclass(frozen=True)
class KnowledgeBase:
    """Every topic and category, in a stable order."""

    topics: dict[str, Topic]
    categories: dict[str, Category]
    index: dict = field(default_factory=dict, compare=False, repr=False)

    def in_category(self, category_id: str) -> list[Topic]:
        return [self.topics[i] for i in self.categories[category_id].topic_ids]

    def proactive_topics(self) -> list[Topic]:
        """Return the topics that may appear in something proactive (never women's rights)."""
        return [topic for topic in self.topics.values() if not topic.private]


def topic_from_raw(raw: dict, category_id: str, version: int | None = None) -> Topic:
    """Build a Topic from one YAML/database entry (already validated)."""
    return Topic(
        id=raw["id"], title=raw["title"], category=category_id,
        keywords=tuple(normalise(k) for k in raw["keywords"]), sms=str(raw["sms"]).strip(),
        parts=tuple(str(p).strip() for p in raw["whatsapp"]), sources=tuple(raw["sources"]),
        short_source=raw["short_source"], checked=str(raw["checked"]),
        regions=tuple(raw.get("regions") or ()), altitude=raw.get("altitude") or None,
        version=version,
    )


def load_file(path: Path) -> tuple[Category, list[Topic]]:
    """Read one category file; raise ValueError when an entry misses a field."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    category_id = data["category"]
    topics = []
    for raw in data["topics"]:
        missing = [k for k in REQUIRED if not raw.get(k)]
        if missing:
            raise ValueError(f"{path.name}: topic {raw.get('id')!r} misses {missing}")
        topics.append(topic_from_raw(raw, category_id))
    category = Category(category_id, data["title"], tuple(t.id for t in topics))
    return category, topics


def build(categories: list[tuple[str, str]], topics: list[Topic]) -> KnowledgeBase:
    """Return a knowledge base of `topics` under `categories` [(id, title)], in the usual order."""
    by_id: dict[str, Topic] = {}
    for topic in topics:
        if topic.id in by_id:
            raise ValueError(f"duplicate topic id {topic.id!r}")
        by_id[topic.id] = topic
    titles = dict(categories)
    for topic in topics:
        titles.setdefault(topic.category, topic.category)
    order = [c for c in CATEGORY_ORDER if c in titles] + [c for c in titles if c not in CATEGORY_ORDER]
    cats = {cid: Category(cid, titles[cid], tuple(t.id for t in topics if t.category == cid))
            for cid in order}
    cats = {cid: c for cid, c in cats.items() if c.topic_ids}
    return KnowledgeBase(by_id, cats, matching.build_index(by_id))


@lru_cache(maxsize=1)
def seed_knowledge_base() -> KnowledgeBase:
    """Return the shipped seed, loaded once from KB_DIR."""
    categories, topics = [], []
    for path in sorted(KB_DIR.glob("*.yml")):
        category, items = load_file(path)
        categories.append((category.id, category.title))
        topics.extend(items)
    return build(categories, topics)


_installed: list[KnowledgeBase] = []


def install(kb: KnowledgeBase | None) -> None:
    """Answer from `kb` from now on (the published working copy); None goes back to the seed."""
    _installed[:] = [kb] if kb is not None else []


def knowledge_base() -> KnowledgeBase:
    """Return the knowledge base the bot answers from: the installed working copy, else the seed."""
    return _installed[0] if _installed else seed_knowledge_base()


def score(topic: Topic, text: str) -> float:
    """Return how well `text` asks about `topic` (0 none, >= 1 a whole keyword)."""
    return matching.score(topic.keywords, text)


def best_match(text: str, kb: KnowledgeBase | None = None) -> tuple[Topic | None, float]:
    """Return the topic `text` is most likely about and its score; ties go to the closer topic."""
    kb = kb or knowledge_base()
    found, value = matching.best(kb.topics, kb.index, text)
    return (kb.topics[found] if found else None), value


def find(text: str, topic_entity: str | None = None,
         kb: KnowledgeBase | None = None) -> Topic | Category | None:
    """Return the topic asked about, a category when only that is clear, or None."""
    kb = kb or knowledge_base()
    topic, value = best_match(text, kb)
    if topic is not None and value >= MIN_SCORE:
        return topic
    target = ENTITY_TOPICS.get(topic_entity or "")
    if target in kb.topics:
        return kb.topics[target]
    if target in kb.categories:
        return kb.categories[target]
    return None

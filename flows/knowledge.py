"""Load the agroecology knowledge base and find the topic a question is about.

The knowledge base lives in versioned YAML files under flows/data/agroecology/,
one file per category. Matching is deterministic (no model): keywords are
compared with the question word by word, with difflib tolerating SMS spellings
and typos ("vocashi", "kompost"). A multi-word keyword that appears whole
counts more than a single word.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from nlu.rules import normalise

KB_DIR = Path(__file__).resolve().parent / "data" / "agroecology"
CATEGORY_ORDER = ("abonos", "plagas", "agua_suelo", "cultivos", "animales")
MIN_SCORE = 0.8  # below this a match is a guess, and the flow shows the topic list
FUZZY_CUTOFF = 0.84
STOPWORDS = frozenset(
    "a al como con cual cuando de del el en es esta hacer hago la las le lo los mas me mi mis "
    "para pero por preparo q que se sin su sus te un una uno y ya yo hay tiene tengo quiero "
    "puedo debo mejor bien".split()
)

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

    def in_category(self, category_id: str) -> list[Topic]:
        return [self.topics[i] for i in self.categories[category_id].topic_ids]


def load_file(path: Path) -> tuple[Category, list[Topic]]:
    """Read one category file; raise ValueError when an entry misses a field."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    category_id = data["category"]
    topics = []
    for raw in data["topics"]:
        missing = [k for k in ("id", "title", "keywords", "sms", "whatsapp", "sources",
                               "short_source", "checked") if not raw.get(k)]
        if missing:
            raise ValueError(f"{path.name}: topic {raw.get('id')!r} misses {missing}")
        topics.append(Topic(
            id=raw["id"], title=raw["title"], category=category_id,
            keywords=tuple(normalise(k) for k in raw["keywords"]), sms=raw["sms"].strip(),
            parts=tuple(p.strip() for p in raw["whatsapp"]), sources=tuple(raw["sources"]),
            short_source=raw["short_source"], checked=str(raw["checked"]),
        ))
    category = Category(category_id, data["title"], tuple(t.id for t in topics))
    return category, topics


@lru_cache(maxsize=1)
def knowledge_base() -> KnowledgeBase:
    """Return the knowledge base, loaded once from KB_DIR."""
    topics: dict[str, Topic] = {}
    categories: dict[str, Category] = {}
    for path in sorted(KB_DIR.glob("*.yml")):
        category, items = load_file(path)
        categories[category.id] = category
        for topic in items:
            if topic.id in topics:
                raise ValueError(f"duplicate topic id {topic.id!r} in {path.name}")
            topics[topic.id] = topic
    ordered = {cid: categories[cid] for cid in CATEGORY_ORDER if cid in categories}
    ordered.update({cid: c for cid, c in categories.items() if cid not in ordered})
    return KnowledgeBase(topics, ordered)


def _words(text: str) -> list[str]:
    return [w for w in normalise(text).replace("ñ", "n").split() if w not in STOPWORDS]


def _keyword_score(keyword: str, text: str, words: list[str]) -> float:
    keyword = keyword.replace("ñ", "n")
    kw_words = [w for w in keyword.split() if w not in STOPWORDS] or keyword.split()
    if f" {keyword} " in f" {text} ":
        return 1.0 + 0.2 * (len(kw_words) - 1)  # whole phrase: longer is more specific
    hits = 0.0
    for kw in kw_words:
        if kw in words:
            hits += 1.0
        elif len(kw) >= 4 and difflib.get_close_matches(kw, words, n=1, cutoff=FUZZY_CUTOFF):
            hits += 0.85
    return hits / len(kw_words) * (0.9 if len(kw_words) > 1 else 1.0)


def score(topic: Topic, text: str) -> float:
    """Return how well `text` asks about `topic` (0 none, >= 1 a whole keyword)."""
    norm = normalise(text).replace("ñ", "n")
    words = _words(text)
    if not words:
        return 0.0
    return max(_keyword_score(k, norm, words) for k in topic.keywords)


@lru_cache(maxsize=1)
def _topic_words() -> dict[str, frozenset[str]]:
    return {tid: frozenset(w for k in topic.keywords for w in k.replace("ñ", "n").split())
            for tid, topic in knowledge_base().topics.items()}


def _coverage(topic: Topic, words: list[str]) -> float:
    """Return how many of the question's words the topic's keywords use, rare words counting more."""
    vocab = _topic_words()
    total = 0.0
    for word in set(words) & vocab[topic.id]:
        total += 1.0 / sum(1 for other in vocab.values() if word in other)
    return total


def best_match(text: str, kb: KnowledgeBase | None = None) -> tuple[Topic | None, float]:
    """Return the topic `text` is most likely about and its score; ties go to the closer topic."""
    kb = kb or knowledge_base()
    words = _words(text)
    best, best_key = None, (0.0, 0.0)
    for topic in kb.topics.values():
        value = score(topic, text)
        key = (round(value, 3), _coverage(topic, words) if value else 0.0)
        if key > best_key:
            best, best_key = topic, key
    return best, best_key[0]


def find(text: str, topic_entity: str | None = None) -> Topic | Category | None:
    """Return the topic asked about, a category when only that is clear, or None."""
    kb = knowledge_base()
    topic, value = best_match(text, kb)
    if topic is not None and value >= MIN_SCORE:
        return topic
    target = ENTITY_TOPICS.get(topic_entity or "")
    if target in kb.topics:
        return kb.topics[target]
    if target in kb.categories:
        return kb.categories[target]
    return None

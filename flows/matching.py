"""Score how well a message asks about a topic, from the topic's keywords (no model).

The same logic for shipped and edited topics. Words are compared by a light
Spanish stem (plurals and verb forms: "mueren", "muriendo", "murieron" are one
word), so a keyword is found whole in any word order ("mis cuyes se estan
muriendo" holds "se mueren mis cuyes"); difflib tolerates SMS spellings and
typos ("vocashi", "kompost"). A multi-word keyword found whole counts more
than a single word.
"""
from __future__ import annotations

import difflib
import threading
from functools import lru_cache

from nlu.rules import normalise

MIN_SCORE = 0.8  # below this a match is a guess, and the flow shows the topic list
FUZZY_CUTOFF = 0.84
ANY_ORDER = 0.05  # a keyword found in another word order counts a little less than verbatim
STOPWORDS = frozenset(
    "a al como con cual cuando de del el en es esta estan hacer hago la las le lo los mas me mi mis "
    "para pa pero por preparo q que se sin su sus te un una uno y ya yo hay tiene tengo quiero "
    "puedo debo mejor bien".split()
)
# Longest first; a stem keeps at least MIN_STEM letters.
SUFFIXES = ("iendose", "iendo", "ieron", "ando", "aron", "adas", "idas", "ados", "idos", "ores",
            "ada", "ida", "ado", "ido", "ar", "er", "ir", "an", "en", "es", "as", "os", "or",
            "a", "e", "o", "s")
MIN_STEM = 3


def stem(word: str) -> str:
    """Return a light stem of `word`: no plural or verb ending, one vowel for ue/ie changes."""
    for suffix in SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= MIN_STEM:
            word = word[: -len(suffix)]
            break
    return word.replace("ue", "u").replace("ie", "e")


def words(text: str) -> list[str]:
    """Return the stems of the words of `text` that carry meaning."""
    return [stem(w) for w in normalise(text).replace("ñ", "n").split() if w not in STOPWORDS]


def _keyword_words(keyword: str) -> list[str]:
    plain = keyword.replace("ñ", "n").split()
    return [stem(w) for w in plain if w not in STOPWORDS] or [stem(w) for w in plain]


@lru_cache(maxsize=8192)
def _keyword_parts(keyword: str) -> tuple[str, tuple[str, ...]]:
    """Return the keyword as matched (ñ as n) and its stems, computed once per keyword."""
    return keyword.replace("ñ", "n"), tuple(_keyword_words(keyword))


_local = threading.local()  # each thread's SequenceMatchers: they are not safe to share
MAX_MATCHERS = 20_000


def _matcher(kw: str) -> difflib.SequenceMatcher:
    """Return this thread's SequenceMatcher with `kw` as its second sequence (prepared once)."""
    matchers = getattr(_local, "matchers", None)
    if matchers is None or len(matchers) > MAX_MATCHERS:
        matchers = _local.matchers = {}
    matcher = matchers.get(kw)
    if matcher is None:
        matcher = matchers[kw] = difflib.SequenceMatcher()
        matcher.set_seq2(kw)
    return matcher


@lru_cache(maxsize=8192)
def _close(kw: str, stems: tuple[str, ...]) -> bool:
    """Tell whether a stem of the message is a near spelling of keyword stem `kw`.

    What difflib.get_close_matches(kw, stems, n=1, cutoff=FUZZY_CUTOFF) finds, the same
    three checks in the same order, without preparing `kw` again for every message;
    cached, as one message meets the same keyword stems in many topics.
    """
    matcher = _matcher(kw)
    for word in stems:
        matcher.set_seq1(word)
        if (matcher.real_quick_ratio() >= FUZZY_CUTOFF and matcher.quick_ratio() >= FUZZY_CUTOFF
                and matcher.ratio() >= FUZZY_CUTOFF):
            return True
    return False


def keyword_score(keyword: str, text: str, stems: list[str] | tuple[str, ...]) -> float:
    """Return how well one keyword is found in `text` (normalised) with word stems `stems`."""
    keyword, kw_words = _keyword_parts(keyword)
    bonus = 0.2 * (len(kw_words) - 1)  # whole keyword: longer is more specific
    if f" {keyword} " in f" {text} ":
        return 1.0 + bonus
    present = set(stems)
    if len(kw_words) > 1 and all(w in present for w in kw_words):
        return 1.0 + bonus - ANY_ORDER
    hits = 0.0
    stems = tuple(stems)
    for kw in kw_words:
        if kw in present:
            hits += 1.0
        elif len(kw) >= 4 and _close(kw, stems):
            hits += 0.85
    return hits / len(kw_words) * (0.9 if len(kw_words) > 1 else 1.0)


def _prepared(text: str) -> tuple[str, tuple[str, ...]]:
    """Return `text` normalised as keywords are matched, and its stems."""
    return normalise(text).replace("ñ", "n"), tuple(words(text))


def score(keywords: tuple[str, ...], text: str, prepared: tuple | None = None) -> float:
    """Return how well `text` asks about a topic with `keywords` (0 none, >= 1 a whole keyword).

    `prepared` is `_prepared(text)` when the caller scores the same text many times.
    """
    norm, stems = prepared or _prepared(text)
    if not stems or not keywords:
        return 0.0
    return max(keyword_score(k, norm, stems) for k in keywords)


def build_index(topics: dict) -> dict[str, frozenset[str]]:
    """Return {topic id: the stems its keywords use}, for the tie-break."""
    return {tid: frozenset(w for k in topic.keywords for w in _keyword_words(k))
            for tid, topic in topics.items()}


def _coverage(index: dict, topic_id: str, stems: list[str]) -> float:
    """Return how many of the question's words the topic's keywords use, rare words counting more."""
    total = 0.0
    for word in set(stems) & index.get(topic_id, frozenset()):
        total += 1.0 / sum(1 for other in index.values() if word in other)
    return total


def best(topics: dict, index: dict, text: str) -> tuple[str | None, float]:
    """Return the id of the topic `text` is most likely about and its score."""
    prepared = _prepared(text)
    stems = list(prepared[1])
    found, best_key = None, (0.0, 0.0)
    for tid, topic in topics.items():
        value = score(topic.keywords, text, prepared)
        key = (round(value, 3), _coverage(index, tid, stems) if value else 0.0)
        if key > best_key:
            found, best_key = tid, key
    return found, best_key[0]

"""A topic's content as stored, exported and edited: one canonical form, so a round trip
through YAML files gives back the same bytes."""
from __future__ import annotations

from datetime import date

TOPIC_KEYS = ("id", "title", "keywords", "sms", "whatsapp", "regions", "altitude", "sources",
              "short_source", "checked")
SOURCE_KEYS = ("title", "publisher", "year", "url", "document", "weak", "checked")


def _plain(value):
    """Return `value` with dates as ISO strings (JSON-safe), recursively."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _ordered(raw: dict, keys: tuple[str, ...]) -> dict:
    out = {k: raw[k] for k in keys if raw.get(k) not in (None, "", [])}
    out.update({k: v for k, v in raw.items() if k not in keys and v not in (None, "", [])})
    return out


def canonical(raw: dict) -> dict:
    """Return a topic entry in canonical form: key order fixed, dates as text, strings trimmed."""
    topic = _plain(dict(raw))
    for key in ("sms", "title", "short_source"):
        if isinstance(topic.get(key), str):
            topic[key] = topic[key].strip()
    if isinstance(topic.get("whatsapp"), list):
        topic["whatsapp"] = [p.strip() if isinstance(p, str) else p for p in topic["whatsapp"]]
    if isinstance(topic.get("sources"), list):
        topic["sources"] = [_ordered(s, SOURCE_KEYS) if isinstance(s, dict) else s
                            for s in topic["sources"]]
    return _ordered(topic, TOPIC_KEYS)


def for_yaml(content: dict) -> dict:
    """Return stored content ready to dump: `checked` dates back to YAML dates."""
    out = dict(content)

    def as_date(value):
        try:
            return date.fromisoformat(value) if isinstance(value, str) else value
        except ValueError:
            return value

    if "checked" in out:
        out["checked"] = as_date(out["checked"])
    if isinstance(out.get("sources"), list):
        out["sources"] = [{**s, "checked": as_date(s["checked"])} if isinstance(s, dict) and "checked" in s
                          else s for s in out["sources"]]
    return out

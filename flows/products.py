"""Known product names and their spellings, read from the NLU lookup and synonym data."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

from flows.places import key

NLU_DATA = Path(__file__).resolve().parent.parent / "nlu" / "data"


def _examples(block: str) -> list[str]:
    return [line.strip()[2:].strip() for line in (block or "").splitlines() if line.strip().startswith("- ")]


@lru_cache(maxsize=None)
def lookup_products() -> frozenset[str]:
    """Return every product spelling of the NLU lookup table, normalised."""
    data = yaml.safe_load((NLU_DATA / "lookups" / "products.yml").read_text(encoding="utf-8"))
    names = set()
    for item in data.get("nlu", []):
        if item.get("lookup") == "product":
            names.update(key(e) for e in _examples(item.get("examples")))
    return frozenset(names)


@lru_cache(maxsize=None)
def product_aliases() -> dict[str, tuple[str, ...]]:
    """Return canonical product -> other spellings, from the NLU synonyms of products."""
    data = yaml.safe_load((NLU_DATA / "synonyms.yml").read_text(encoding="utf-8"))
    products = lookup_products()
    aliases: dict[str, set[str]] = {}
    for item in data.get("nlu", []):
        value = key(item.get("synonym") or "")
        if value in products or any(key(e) in products for e in _examples(item.get("examples"))):
            spellings = {key(e) for e in _examples(item.get("examples"))} - {value}
            aliases.setdefault(value, set()).update(spellings)
    return {name: tuple(sorted(values)) for name, values in aliases.items()}


def canonical(name: str) -> str:
    """Return the canonical product of a spelling ("papitas" -> "papa"), else the key itself."""
    value = key(name)
    for product, spellings in product_aliases().items():
        if value in spellings:
            return product
    return value


def split_variety(product: str, variety: str) -> tuple[str, str]:
    """Return (product, variety), splitting "papa amarilla" into ("papa", "amarilla")."""
    product, variety = canonical(product), key(variety)
    if variety or " " not in product:
        return product, variety
    base, rest = product.split(" ", 1)
    base = canonical(base)
    if base in lookup_products() and not rest.startswith(("de ", "del ")):
        return base, rest
    return product, variety

"""Understand a message without the model, from the lookup tables and a few keyword lists.

When the Rasa server is down or too slow, the classifier asks `understand(text)`
after the deterministic rules (STOP, menu digits, emergencies) found nothing:

* a hazard word, or "alerta"/"clima" with a place: a climate question;
* a product (with or without a place): a price question;
* an agroecology topic: a farming question;
* greetings, thanks, goodbyes, help, a person, and AVISAME: by keyword;
* a place alone: no intent, but the place, for a follow-up ("y en lima?").

Products, places, hazards and topics come from the same lookup tables and
synonyms the model is trained with (nlu/data/lookups/, nlu/data/synonyms.yml), so
the two never disagree about what a word means. What it cannot place is None,
and the bot then offers the numbered menu.
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import yaml

from nlu.rules import normalise

DATA_DIR = Path(__file__).resolve().parent / "data"
ENTITIES = ("hazard", "product", "location", "topic")
CONFIDENCE = 0.9  # what a keyword or lookup hit counts for: above the clarifying threshold

# Whole words or phrases (after normalise), checked in this order.
KEYWORDS = {
    "subscribe": ["avisame", "avisenme", "avisame nomas", "quiero que me avisen", "suscribirme",
                  "suscribeme", "quiero recibir"],
    "human_handoff": ["hablar con alguien", "hablar con una persona", "una persona", "llamenme",
                      "llamame", "asesor", "tecnico"],
    "thanks": ["gracias", "grasias", "muchas gracias", "sulpayki", "yusulpayki", "yuspajara",
               "pagarapusunki"],
    "goodbye": ["chau", "chao", "adios", "hasta luego", "hasta pronto", "nos vemos",
                "tupananchikkama", "jikisinkama"],
    "greet": ["hola", "ola", "holas", "holis", "buenas", "buenos dias", "buen dia", "buenas tardes",
              "buenas noches", "saludos", "alo", "allillanchu", "rimaykullayki", "napaykullayki",
              "kamisaraki", "imaynalla"],
    "help": ["ayuda", "ayudame", "que sabes", "que haces", "que puedes hacer", "informacion"],
}
CLIMATE_WORDS = ["alerta", "alertas", "aviso", "avisos", "clima", "tiempo", "pronostico"]


def _examples(block: str) -> list[str]:
    return [normalise(line.strip()[2:]) for line in (block or "").splitlines()
            if line.strip().startswith("- ")]


@lru_cache(maxsize=1)
def vocabulary() -> dict[str, dict[str, str]]:
    """Return {entity: {surface form: value}} from the lookup tables and their synonyms."""
    lookups: dict[str, set[str]] = {name: set() for name in ENTITIES}
    for path in sorted((DATA_DIR / "lookups").glob("*.yml")):
        for item in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu") or []:
            if item.get("lookup") in lookups:
                lookups[item["lookup"]].update(_examples(item.get("examples")))
    synonyms: dict[str, str] = {}
    for item in (yaml.safe_load((DATA_DIR / "synonyms.yml").read_text(encoding="utf-8"))
                 or {}).get("nlu") or []:
        if "synonym" in item:
            value = normalise(str(item["synonym"]))
            synonyms.update({form: value for form in _examples(item.get("examples"))})
    forms: dict[str, dict[str, str]] = {}
    for name, entries in lookups.items():
        table = {entry: synonyms.get(entry, entry) for entry in entries if entry}
        values = set(table.values()) | entries
        table.update({form: value for form, value in synonyms.items() if value in values})
        forms[name] = table
    return forms


def find(text: str, name: str) -> str | None:
    """Return the value of the longest `name` form named in `text` as whole words, or None."""
    norm = f" {normalise(text)} "
    hits = [form for form in vocabulary()[name] if f" {form} " in norm]
    return vocabulary()[name][max(hits, key=len)] if hits else None


def _says(norm: str, phrases: list[str]) -> bool:
    return any(re.search(rf"(^| ){re.escape(p)}( |$)", norm) for p in phrases)


def understand(text: str) -> tuple[str, dict] | None:
    """Return (intent, entities) for what the lookups and keywords can place, else None."""
    norm = normalise(text)
    entities = {name: value for name in ENTITIES if (value := find(text, name))}
    if _says(norm, KEYWORDS["subscribe"]):  # "avisame las heladas": what to send comes along
        return "subscribe", {k: v for k, v in entities.items() if k != "topic"}
    if "hazard" in entities or ("location" in entities and _says(norm, CLIMATE_WORDS)):
        return "ask_climate", {k: v for k, v in entities.items() if k in ("hazard", "location")}
    if "product" in entities:
        return "ask_price", {k: v for k, v in entities.items() if k in ("product", "location")}
    if "topic" in entities:
        return "ask_agroecology", {"topic": entities["topic"]}
    for intent, phrases in KEYWORDS.items():
        if _says(norm, phrases):
            return intent, {}
    if "location" in entities:  # a place alone ("y en lima?"): an open flow may take it
        return "out_of_scope", {"location": entities["location"]}
    return None

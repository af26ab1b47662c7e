"""Knowledge-base fixtures: a seeded working copy, editors, and a clean installed copy after each test."""
from __future__ import annotations

import pytest

from bot.topics import store
from flows import knowledge
from models import utcnow

ANA = store.Editor(None, "ana@chaski.test", "technician")
BETO = store.Editor(None, "beto@chaski.test", "technician")


@pytest.fixture(autouse=True)
def _seed_copy_after():
    yield
    knowledge.install(None)  # the next test starts from the shipped seed


@pytest.fixture
def seeded(db):
    """Seed the working copy from the shipped YAML; return the database."""
    with db.session() as session:
        store.ensure_seeded(session, utcnow())
    return db


def new_topic(**changes) -> dict:
    """Return a valid topic entry (the fixture's content is a test's, not advice to farmers)."""
    topic = {
        "id": "llama_esquila", "title": "Esquila de llamas",
        "keywords": ["esquila de llamas", "esquilar llama", "trasquilar llamas"],
        "sms": "Esquila de llamas: texto de prueba publicado por el equipo.",
        "whatsapp": ["Parte larga de prueba."],
        "sources": [{"title": "Manual de prueba", "publisher": "INIA", "year": 2020,
                     "url": "https://www.inia.gob.pe/prueba"}],
        "short_source": "INIA 2020", "checked": "2026-11-30",
    }
    topic.update(changes)
    return topic

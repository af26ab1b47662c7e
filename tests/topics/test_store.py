"""Four-eyes publication, and a published edit answered at once by every worker."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.conversations.engine import Inbound
from bot.services import services
from bot.topics import store
from models import AuditLog, utcnow
from tests.conftest import make_app
from tests.topics.conftest import ANA, BETO, new_topic


def test_a_draft_is_not_answered_until_a_second_person_publishes_it(seeded, talk):
    with seeded.session() as session:
        draft = store.save_draft(session, new_topic(), "animales", ANA, utcnow(), new=True)
        draft_id = draft.id
    assert "texto de prueba" not in " ".join(talk("como esquilar llama", phone="+51900000031"))
    with pytest.raises(store.TopicRefused, match="Otra persona"), seeded.session() as session:
        store.publish(session, draft_id, ANA, utcnow())
    assert "texto de prueba" not in " ".join(talk("esquila de llamas", phone="+51900000032"))
    with seeded.session() as session:
        store.publish(session, draft_id, BETO, utcnow())
    assert "texto de prueba" in talk("esquila de llamas", phone="+51900000033")[0]
    with seeded.session() as session:
        actions = session.scalars(select(AuditLog.action).where(AuditLog.target == "topic:llama_esquila"))
        assert list(actions) == ["kb_draft", "kb_publish"]


def test_an_invalid_edit_is_refused_field_by_field_and_nothing_is_written(seeded):
    with pytest.raises(store.TopicRefused) as refused, seeded.session() as session:
        store.save_draft(session, new_topic(sms="x" * 330, sources=[
            {"title": "copia", "publisher": "anónimo", "url": "https://es.scribd.com/doc/1"}]),
            "animales", ANA, utcnow(), new=True)
    assert {f for f, _ in refused.value.problems} == {"sms", "sources"}
    with seeded.session() as session:
        assert store.history(session, "llama_esquila") == []


def test_retire_and_restore_go_through_drafts_too(seeded, talk):
    with seeded.session() as session:
        current = store.latest(session, "biol", "published")
        retire = store.save_draft(session, dict(current.content), "abonos", ANA, utcnow(), retired=True)
        store.publish(session, retire.id, BETO, utcnow())
    assert "El biol es" not in " ".join(talk("como preparo biol", phone="+51900000034"))
    with seeded.session() as session:
        restored = store.restore(session, "biol", 1, BETO, utcnow())
        store.publish(session, restored.id, ANA, utcnow())
        assert [v.status for v in store.history(session, "biol")] == ["published", "superseded",
                                                                         "superseded"]
    assert talk("como preparo biol", phone="+51900000035")[0].startswith("El biol es")


def test_a_published_edit_answers_the_next_message_in_every_worker(database_url, seeded, app):
    other = make_app(database_url)  # a second web worker on the same database
    try:
        workers = [services(app).engine, services(other).engine]
        for n, engine in enumerate(workers):  # both load the published copy
            assert "El biol es" in engine.handle(Inbound(f"+5190000004{n}", "como preparo biol")).replies[0]
        with seeded.session() as session:
            content = dict(store.latest(session, "biol", "published").content)
            content["sms"] = "Biol editado: version nueva del equipo tecnico."
            draft = store.save_draft(session, content, "abonos", ANA, utcnow())
            store.publish(session, draft.id, BETO, utcnow())
        for n, engine in enumerate(workers):
            reply = engine.handle(Inbound(f"+5190000005{n}", "como preparo biol")).replies[0]
            assert reply.startswith("Biol editado"), (n, reply)
    finally:
        services(other).db.dispose()

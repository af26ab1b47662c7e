"""The engine without Flask: contacts, state, opt-out, safety, failures; SQLite and PostgreSQL."""
from datetime import timedelta

from sqlalchemy import select

from bot.conversations.engine import Inbound
from bot.services import services
from models import Contact, ConversationState, HandoffRequest, Message, utcnow
from tests.fakes.signing import FAKE_PHONE


def contact(db, phone=FAKE_PHONE):
    with db.session() as s:
        return s.scalar(select(Contact).where(Contact.phone == phone))


def test_phone_is_normalised_to_e164(talk, db):
    talk("hola", phone="900 000 099")  # FAKE number (our test range), local format
    assert contact(db, "+51900000099") is not None


def test_unreadable_number_gets_an_answer_and_nothing_is_stored(talk, db):
    replies = talk("hola", phone="no-number")
    assert replies == ["Chaski atiende solo a numeros de Peru. / Chaski only serves Peruvian phone numbers."]
    with db.session() as s:
        assert s.scalar(select(Contact)) is None


def test_a_number_from_abroad_is_told_the_service_is_for_peru_and_nothing_is_stored(talk, db):
    for phone in ("+12025550143", "whatsapp:+34600000000"):  # fictional US and Spanish numbers
        [reply] = talk("hola, cuanto esta la papa", phone=phone)
        assert "solo a numeros de Peru" in reply or "solo a números de Perú" in reply
    with db.session() as s:
        assert s.scalar(select(Contact)) is None and s.scalar(select(Message)) is None


def test_the_countries_served_are_a_setting(database_url):
    from tests.conftest import _empty_tables, make_app

    app = make_app(database_url, PHONE_COUNTRIES="PE BO")
    _empty_tables(services(app).db)
    engine = services(app).engine
    assert "1 Precios" in engine.handle(Inbound(address="+59171234567", body="MENU")).replies[0]
    assert "solo a numeros" in engine.handle(Inbound(address="+12025550143", body="MENU")).replies[0]
    services(app).db.dispose()


def test_first_question_is_answered_before_any_onboarding(talk, db):
    replies = talk("1")
    assert "Precios" in replies[0] and "permiso" not in replies[0]
    c = contact(db)
    assert c.consent_at is None and c.region is None


def test_language_switch_asks_consent_then_stores_consent_and_language(talk, db):
    assert "permiso" in talk("6")[0]
    assert "idioma" in talk("1")[0]
    assert "runasimipi" in talk("2")[0]  # the confirmation comes in the new language
    c = contact(db)
    assert c.consent_at is not None and c.language == "qu"
    assert "Chanin" in talk("0")[0]  # and so does the menu from now on


def test_stop_in_the_middle_of_a_multi_step_flow(talk, db):
    talk("6")
    talk("1")  # consent given, now asked for the language
    with db.session() as s:
        assert s.scalar(select(ConversationState.step)) == "language"
    replies = talk("STOP")
    assert "ALTA" in replies[0]
    c = contact(db)
    assert c.opted_out_at is not None
    with db.session() as s:
        assert s.scalar(select(ConversationState)) is None


def test_stopped_contact_gets_nothing_but_the_opt_in_path(talk, db):
    talk("BAJA")
    for text in ["hola", "1", "6", "quiero que me avisen", ""]:
        replies = talk(text)
        assert replies == ["No recibes mensajes de Chaski. Para volver, envia ALTA."]
    with db.session() as s:
        assert s.scalar(select(ConversationState)) is None
    assert contact(db).opted_out_at is not None
    replies = talk("ALTA")
    assert "1 Precios" in replies[0]
    assert contact(db).opted_out_at is None


def test_stopped_contact_crying_for_help_still_gets_the_numbers(talk):
    talk("STOP")
    replies = talk("me quiere matar")
    assert "105" in replies[0] and "Linea 100" in replies[0]


def test_violence_conversation_bodies_are_not_stored(talk, db):
    talk("mi esposo me golpea y me amenaza")
    talk("3")  # option 3: talk to a person
    with db.session() as s:
        inbound = s.scalars(select(Message).where(Message.direction == "in")).all()
        assert [m.body for m in inbound] == [None, None]
        assert all(m.redacted and m.intent for m in inbound)
        everything = " ".join(m.body or "" for m in s.scalars(select(Message)))
        assert "golpea" not in everything and "esposo" not in everything
        handoff = s.scalar(select(HandoffRequest))
        assert handoff.urgent and handoff.topic == "support"


def test_handoff_request_is_recorded(talk, db):
    replies = talk("5")
    assert "persona" in replies[0]
    with db.session() as s:
        handoff = s.scalar(select(HandoffRequest))
        assert handoff.status == "open" and not handoff.urgent


def test_rules_answer_when_the_nlu_server_is_down(talk, db):
    assert "Precios" in talk("0")[0]
    assert talk("quien canta esa cancion")[0].startswith("Ahora solo puedo leer numeros.")
    assert "Ahora solo" not in talk("cuanto sta la papa en huancayo")[0]  # the lookups place it
    assert "105" in talk("auxilio")[0]
    assert "ALTA" in talk("salir")[0]
    with db.session() as s:
        sources = s.scalars(select(Message.nlu_source).where(Message.direction == "in")
                            .order_by(Message.id)).all()
    assert sources == ["rule", "unavailable", "fallback", "rule", "rule"]


def test_expired_flow_state_is_ignored(app, talk, db):
    engine = services(app).engine
    talk("6")
    later = utcnow() + timedelta(hours=2)
    replies = engine.handle(Inbound(address=FAKE_PHONE, body="1"), now=later).replies
    assert "Precios" in replies[0]  # "1" read as the menu, not as consent
    assert contact(db).consent_at is None


class BrokenClassifier:
    def classify(self, text):
        raise RuntimeError("boom")


def test_classifier_crash_still_answers_from_the_menu(app, talk):
    services(app).engine.classifier = BrokenClassifier()
    assert "numeros" in talk("hola")[0]


def test_database_failure_answers_and_keeps_emergency_numbers(app, talk, monkeypatch):
    engine = services(app).engine

    def broken(*args, **kwargs):
        raise RuntimeError("database is gone")

    monkeypatch.setattr(engine, "_turn", broken)
    assert "problema" in talk("hola")[0]
    assert "105" in talk("me pega")[0]


def test_sms_reply_segments_are_counted(app):
    outcome = services(app).engine.handle(Inbound(address=FAKE_PHONE, body="hola"))
    assert outcome.segments == [1]

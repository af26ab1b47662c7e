"""Support conversation: safety rules pure and through the webhook, privacy on SQLite and PostgreSQL."""
from datetime import date, timedelta

import yaml
from sqlalchemy import String, Text, select

from flows.gsm7 import segment_count, to_gsm7
from bot.conversations.jobs import expire_conversations
from flows import ContactView, directory, support
from models import Base, ConversationState, HandoffRequest, Message, utcnow
from tests.fakes.signing import FAKE_PHONE, inbound_form, new_sid, post_signed
from tests.flows.test_flows import turn

PROGRAM_DEPARTMENTS = set(directory.DEPARTMENTS)
REVEALING = ("violencia", "golpe", "maltrato", "agresor", "abuso", "pareja", "esposo")


def conversation(texts, contact=None, channel="sms"):
    """Run `texts` as one conversation from scratch; return the results in order."""
    results, state = [], None
    for text in texts:
        result = turn(text, "out_of_scope", state=state, contact=contact, channel=channel)
        results.append(result)
        state = result.state
    return results


SCRIPTS = [
    ["mi pareja me pega", "1", "Jauja", "2", "3"],
    ["4", "1", "Huancavelica", "1", "2", "chau"],
    ["auxilio", "2", "no se", "1", "Canchis", "MENU"],
    ["me amenaza", "3"],
    ["4", "1", "STOP"],
    ["4", "si"],
]


def test_first_reply_always_carries_105_and_linea_100_in_every_language():
    for contact in (ContactView(), ContactView(language="qu"), ContactView(language="ay"),
                    ContactView(opted_out=True)):
        for text in ("4", "me quiere matar", "linea 100"):
            reply = turn(text, contact=contact).replies[0]
            assert "105" in reply and "Línea 100" in reply, (contact, text)


def test_later_replies_use_neutral_words_and_fit_two_sms():
    for script in SCRIPTS:
        results = conversation(script)
        for result in results:
            for reply in result.replies:
                assert segment_count(to_gsm7(reply)) <= 2, reply
        for result in results[1:]:
            for reply in result.replies:
                assert not any(word in reply.lower() for word in REVEALING), reply


def test_nothing_but_a_requested_hand_off_ever_leaves_the_flow():
    kinds = {e.kind for script in SCRIPTS for r in conversation(script) for e in r.effects}
    kinds |= {e.kind for script in SCRIPTS for r in conversation(script, channel="whatsapp")
              for e in r.effects}
    assert kinds <= {"handoff", "opt_out"}  # opt_out: the person's own STOP, handled by the router
    stops = conversation(["4", "1", "STOP"])
    assert [e.kind for e in stops[-1].effects] == ["opt_out"] and stops[-1].flow == "optout"
    assert all(r.sensitive for script in SCRIPTS for r in conversation(script)[:-1])


def test_option_3_is_an_urgent_hand_off_and_ends_the_flow():
    last = conversation(["4", "3"])[-1]
    assert last.effects[0].values == {"urgent": True, "topic": "support"} and last.state is None


def test_quick_exit_word_ends_with_an_ordinary_goodbye():
    for word in ("CHAU", "chao", "Adiós"):
        last = conversation(["4", "1", word])[-1]
        assert last.state is None and last.effects == []
        assert last.replies == ["¡Hasta pronto! Escríbenos cuando quieras."]
    menu = conversation(["4", "MENU"])[-1]
    assert menu.state is None and "1 Precios" in menu.replies[0] and menu.sensitive


def test_salir_is_still_the_opt_out_word_not_the_exit():
    last = conversation(["4", "salir"])[-1]
    assert [e.kind for e in last.effects] == ["opt_out"]


def test_nearest_centre_asks_the_province_then_answers_from_the_directory():
    asked = conversation(["4", "1"])[-1]
    assert "provincia" in asked.replies[0] and asked.state.step == "place"
    jauja = conversation(["4", "1", "vivo en jauja"])[-1]
    assert "Jr. Gálvez 335" in jauja.replies[0] and "Línea 100" in jauja.replies[0]
    assert jauja.state.data == {"place": "jauja"}


def test_a_place_is_read_as_a_place_whatever_the_model_thinks_it_is():
    asked = conversation(["4", "1"])[-1]
    reply = turn("vivo en canchis", "goodbye", state=asked.state)
    assert "CEM Canchis" in reply.replies[0] and reply.state.data == {"place": "canchis"}
    assert turn("gracias", "thanks", state=reply.state).state.flow == "support"


def test_stored_province_is_used_without_asking():
    contact = ContactView(province="Canchis")
    reply = conversation(["4", "1"], contact=contact)[-1].replies[0]
    assert "CEM Canchis" in reply


def test_a_place_without_a_sourced_centre_sends_to_linea_100():
    for place in ("Huancavelica", "Áncash", "Tumbes", "xyz"):
        reply = conversation(["4", "1", place])[-1].replies[0]
        assert "Línea 100" in reply and "más cercano" in reply and "105" in reply, place


def test_what_to_do_now_carries_the_numbers():
    reply = conversation(["4", "2"])[-1].replies[0]
    assert "105" in reply and "Línea 100" in reply and "Chat 100" in reply


def test_directory_entries_are_sourced_dated_and_in_program_departments():
    data = yaml.safe_load(directory.DIRECTORY_FILE.read_text(encoding="utf-8"))
    assert data["centres"]
    for entry in data["centres"] + data["online"]:
        assert entry["source"] and str(entry["url"]).startswith("http"), entry["name"]
        assert isinstance(entry["checked"], date), entry["name"]
    for entry in data["centres"]:
        assert entry["department"] in PROGRAM_DEPARTMENTS and entry["province"], entry["name"]
    lines = yaml.safe_load(support.LINES_FILE.read_text(encoding="utf-8"))
    assert all(g["source"] and g["url"].startswith("http") for g in lines["guidance"])


# Through the signed webhook, on both databases.

TYPED = ["mi esposo Fulgencio me golpea", "1", "Jauja", "2", "chau"]


def post(client, text):
    response = post_signed(client, "/webhooks/twilio", inbound_form(text, sid=new_sid()))
    assert response.status_code == 200
    return response.get_data(as_text=True)


def every_text_value(db, skip=()):
    """Yield every string stored in any text or JSON column of any table."""
    with db.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            if table.name in skip:
                continue
            for row in conn.execute(table.select()):
                for column, value in zip(table.columns, row):
                    if isinstance(column.type, (String, Text)) or value.__class__ in (dict, list):
                        yield f"{table.name}.{column.name}", str(value)


def test_webhook_support_conversation_leaves_no_trace_of_what_was_typed(client, db, app):
    bodies = [post(client, text) for text in TYPED]
    assert "105" in bodies[0] and "Linea 100" in bodies[0]
    assert "Galvez 335" in bodies[2]
    words = ["Fulgencio", "golpea", "esposo", "Jauja", "Galvez"]
    for where, value in every_text_value(db, skip={"conversation_states"}):
        assert not any(w.lower() in value.lower() for w in words), (where, value)
    with db.session() as s:
        assert all(m.redacted and m.body is None for m in s.scalars(select(Message)))
        assert s.scalar(select(ConversationState)) is None  # chau ended it


def test_kept_place_lives_only_in_the_expiring_state(client, db):
    for text in ["4", "1", "Jauja"]:
        post(client, text)
    with db.session() as s:
        assert s.scalar(select(ConversationState.data)) == {"place": "jauja"}
    with db.session() as s:
        counts = expire_conversations(s, utcnow() + timedelta(hours=2))
    assert counts == {"expired": 1}
    for where, value in every_text_value(db):
        assert "jauja" not in value.lower(), (where, value)


def test_repeated_sid_in_support_gets_the_numbers_again_not_a_stored_body(client, db):
    form = inbound_form("auxilio me pega", sid=new_sid())
    first = post_signed(client, "/webhooks/twilio", form).get_data(as_text=True)
    again = post_signed(client, "/webhooks/twilio", form).get_data(as_text=True)
    assert "105" in first and "105" in again


def test_urgent_hand_off_through_the_webhook(client, db):
    post(client, "me amenaza")
    post(client, "3")
    with db.session() as s:
        request = s.scalar(select(HandoffRequest))
        assert request.urgent and request.topic == "support"
        assert s.scalar(select(Message).where(Message.id == request.message_id)).body is None


def test_stopped_contact_crying_for_help_gets_the_options_too(talk):
    talk("STOP")
    assert "105" in talk("me pega")[0]
    assert "provincia" in talk("1", phone=FAKE_PHONE)[0]


def test_stored_province_through_the_engine(talk, db):
    from models import Contact

    talk("hola")
    with db.session() as s:
        s.scalar(select(Contact)).province = "Huaral"
    talk("4")
    assert "CEM Comisaria Chancay" in talk("1")[0]


def test_quechua_catalogue_covers_the_fixed_support_and_agroecology_texts():
    from flows.catalog import catalogue

    quechua = catalogue("qu")
    keys = ["support_options", "support_ask_place", "support_no_centre", "support_confirm",
            "agro_which", "agro_person", "agro_more_hint", "agro_source", "agro_no_more"]
    assert [k for k in keys if k not in quechua] == []
    assert "CHAU" in quechua["emergency"] and "{police}" in quechua["support_options"]


def test_logs_of_a_support_conversation_hold_none_of_its_words(talk, caplog):
    import logging

    caplog.set_level(logging.INFO)
    for text in TYPED:
        talk(text)
    logged = caplog.text.lower()
    assert caplog.records and not any(w in logged for w in ("fulgencio", "golpea", "jauja"))

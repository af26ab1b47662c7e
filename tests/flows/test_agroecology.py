"""The agroecology flow: pure turns, then through the engine and the webhook (SQLite and PostgreSQL)."""
from sqlalchemy import select

from flows.gsm7 import segment_count, to_gsm7
from flows import ContactView, State
from flows.knowledge import knowledge_base
from models import HandoffRequest, Message
from tests.fakes.signing import inbound_form, new_sid, post_signed
from tests.flows.test_flows import turn

BIOL = knowledge_base().topics["biol"]


def test_topic_entity_gives_the_short_sms_answer_with_its_source_and_mas():
    result = turn("como preparo biol", "ask_agroecology", entities={"topic": "biol"})
    reply = result.replies[0]
    assert reply.startswith(BIOL.sms) and "Fuente: INIA 2008" in reply and "MAS" in reply
    assert result.state == State("agroecology", "answered", {"topic": "biol", "next": 0})


def test_mas_walks_through_the_longer_parts_then_says_there_is_no_more():
    state = turn("como preparo biol", "ask_agroecology").state
    seen = []
    for _ in BIOL.parts:
        result = turn("mas", state=state)
        seen.append(result.replies[0])
        state = result.state
    assert [s.split(" Envía MAS")[0].split(" Fuente:")[0] for s in seen] == list(BIOL.parts)
    assert "Fuente:" in seen[-1]
    assert turn("MÁS", state=state).replies[0].startswith("Eso es todo")


def test_whatsapp_gives_the_short_answer_with_the_first_longer_part():
    result = turn("como preparo biol", "ask_agroecology", channel="whatsapp")
    assert result.replies[0].startswith(f"*Biol*\n{BIOL.sms}\n\n{BIOL.parts[0]}")
    assert turn("mas", state=result.state, channel="whatsapp").replies[0].startswith(BIOL.parts[1])


def test_menu_3_lists_categories_then_topics_then_answers():
    first = turn("3")
    person = len(knowledge_base().categories) + 1  # the last option, after every category
    assert "1 Abonos" in first.replies[0] and f"{person} Hablar con alguien" in first.replies[0]
    topics = turn("2", state=first.state)
    assert "Rancha de la papa" in topics.replies[0]
    number = topics.state.data["options"].index("rancha") + 1
    answer = turn(str(number), state=topics.state)
    assert "Rancha" in answer.replies[0] and answer.state.data["topic"] == "rancha"


def test_no_good_match_offers_the_list_and_a_person():
    asked = turn("tengo una pregunta de la chacra", "ask_agroecology")
    assert "Elige un número" in asked.replies[0]
    person = turn(str(len(knowledge_base().categories) + 1), state=asked.state)
    assert [e.kind for e in person.effects] == ["handoff"]
    assert person.effects[0].values == {"urgent": False, "topic": "agroecology"}


def test_free_text_inside_the_flow_and_menu_digits_after_an_answer():
    state = turn("3").state
    assert turn("kompost", state=state).state.data["topic"] == "compost"
    answered = turn("como preparo biol", "ask_agroecology").state
    assert "Precios" in turn("1", state=answered).replies[0]  # back to the main menu
    assert "ALTA" in turn("BAJA", state=answered).replies[0]


def test_quechua_contact_gets_quechua_list_and_hints():
    result = turn("3", contact=ContactView(language="qu"))
    assert "akllay" in result.replies[0]


def test_every_reply_of_the_flow_fits_two_segments_and_lists_fit_one():
    state = turn("3").state
    assert segment_count(to_gsm7(turn("3").replies[0])) == 1
    for digit in map(str, range(1, len(knowledge_base().categories) + 1)):
        listing = turn(digit, state=state)
        assert segment_count(to_gsm7(listing.replies[0])) <= 2, listing.replies[0]
        for n in range(1, len(listing.state.data["options"]) + 1):
            answer = turn(str(n), state=listing.state)
            replies = list(answer.replies)
            while answer.state and "topic" in answer.state.data and answer.state.data["next"] < len(
                    knowledge_base().topics[answer.state.data["topic"]].parts):
                answer = turn("mas", state=answer.state)
                replies += answer.replies
            for reply in replies:
                assert segment_count(to_gsm7(reply)) <= 2, reply


# Through the engine, with the NLU server down (rules and keywords only).

def test_engine_menu_3_then_topic_then_mas(talk, db):
    assert "1 Abonos" in talk("3")[0]
    assert "Biol" in talk("1")[0]
    first = talk("1")[0]
    assert first.startswith("El biol es un abono liquido")  # GSM-7 on SMS
    assert talk("mas")[0].startswith("Biol: abono organico liquido")
    with db.session() as s:
        flows_seen = s.scalars(select(Message.flow).where(Message.direction == "in")).all()
    assert flows_seen == ["agroecology"] * 4


def test_engine_answers_clear_keywords_when_the_nlu_is_down(talk):
    assert "Fuente: FAO-PESA" in talk("como hago bocashi")[0]
    assert talk("quien canta esa cancion")[0].startswith("Ahora solo puedo leer numeros.")


def test_engine_records_the_request_for_a_person(talk, db):
    talk("3")
    talk(str(len(knowledge_base().categories) + 1))  # the last option: a person
    with db.session() as s:
        request = s.scalar(select(HandoffRequest))
    assert request.topic == "agroecology" and not request.urgent


def test_webhook_answers_on_whatsapp_with_the_long_form(client):
    response = post_signed(client, "/webhooks/twilio",
                           inbound_form("como hago una qocha", sid=new_sid(), channel="whatsapp"))
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "depresión natural" in body

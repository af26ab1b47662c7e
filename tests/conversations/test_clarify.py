"""The clarifying question asked below the confidence threshold, and the answer to it."""
from datetime import datetime, timezone

from flows.gsm7 import segment_count, to_gsm7
from flows import ContactView, Ctx, State, clarify, respond
from nlu import rules
from nlu.classifier import Parse

NOW = datetime(2026, 11, 22, 15, 0, tzinfo=timezone.utc)
UNSURE = (("ask_price", 0.38), ("ask_climate", 0.31), ("greet", 0.2), ("ask_agroecology", 0.07))


def turn(text, parse=None, state=None, language="es"):
    hit = rules.match(text)
    if parse is None and hit:
        parse = Parse(text, hit.intent, 1.0, source="rule", rule=hit.kind, digit=hit.digit)
    return respond(Ctx(ContactView(language=language), "sms", text, parse, state, NOW))


def unsure(text, ranking=UNSURE, entities=None):
    return Parse(text, ranking[0][0], ranking[0][1], entities or {}, low_confidence=True,
                 ranking=ranking)


def test_options_are_the_best_ranked_intents_the_bot_can_act_on():
    assert clarify.options(UNSURE) == ["ask_price", "ask_climate", "ask_agroecology"]
    assert clarify.options((("greet", 0.4), ("thanks", 0.3), ("deny", 0.2))) == []
    assert clarify.options((("opt_out", 0.4), ("subscribe", 0.3))) == ["subscribe"]
    assert len(clarify.options(UNSURE, limit=2)) == 2


def test_unsure_parse_gets_a_numbered_question_not_a_guess():
    result = turn("papa helada", unsure("papa helada", entities={"product": "papa"}))
    assert result.replies == ["No entendí bien. ¿Es sobre esto?\n1 Precios\n2 Clima y alertas\n"
                              "3 Chacra\n0 Otra cosa (menú)"]
    assert result.state == State("clarify", "choose", {
        "options": ["ask_price", "ask_climate", "ask_agroecology"], "entities": {"product": "papa"}})
    assert not result.sensitive


def test_picking_an_option_answers_that_intent_with_the_first_messages_entities():
    first = turn("papa helada", unsure("papa helada", entities={"product": "papa"}))
    second = turn("2", state=first.state)
    assert second.flow == "climate"  # answered as a climate question, not guessed again
    assert second.replies[0].startswith("¿En qué departamento está tu chacra?")


def test_an_answer_that_is_not_an_option_is_read_as_a_new_message():
    first = turn("papa helada", unsure("papa helada"))
    assert turn("0", state=first.state).replies[0].startswith("Chaski. Responde con un número:")
    handoff = turn("5", state=first.state)  # not offered: the main menu's 5
    assert handoff.replies[0].startswith("Listo, una persona del equipo")
    hello = turn("hola", Parse("hola", "greet", 0.99), state=first.state)
    assert hello.replies[0].startswith("¡Hola, soy Chaski!")


def test_nothing_to_offer_falls_back_to_the_menu():
    parse = unsure("jsjs", ranking=(("out_of_scope", 0.3), ("greet", 0.25)))
    assert turn("jsjs", parse).replies[0].startswith("No entendí bien.\n1 Precios")


def test_a_possible_cry_for_help_among_the_options_keeps_the_turn_private():
    parse = unsure("no se q hacer con el", ranking=(("human_handoff", 0.4), ("gbv_support", 0.3)))
    result = turn("no se q hacer con el", parse)
    assert "2 Apoyo a la mujer" in result.replies[0] and result.sensitive
    assert turn("2", state=result.state).replies[0].startswith("Si estás en peligro llama al 105")


def test_clarifying_question_fits_one_sms_in_spanish_and_quechua():
    for language in ("es", "qu"):
        reply = turn("x", unsure("x"), language=language).replies[0]
        assert segment_count(to_gsm7(reply)) == 1, reply
    assert turn("x", unsure("x"), language="qu").replies[0].startswith("Manam entiendenichu.")

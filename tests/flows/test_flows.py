"""Flows as pure functions: state + message + parse -> replies, state, effects."""
from datetime import datetime, timezone

from flows import ContactView, Ctx, State, respond
from nlu import rules
from nlu.classifier import Parse

NOW = datetime(2026, 11, 22, 15, 0, tzinfo=timezone.utc)


def turn(text, intent="out_of_scope", state=None, contact=None, channel="sms", **parse_kw):
    hit = rules.match(text)
    if hit:
        parse = Parse(text, hit.intent, 1.0, source="rule", rule=hit.kind, digit=hit.digit)
    else:
        parse = Parse(text, intent, parse_kw.pop("confidence", 0.9), **parse_kw)
    return respond(Ctx(contact or ContactView(), channel, text, parse, state, NOW))


def kinds(result):
    return [e.kind for e in result.effects]


def test_greeting_shows_the_menu_without_asking_anything():
    result = turn("hola", "greet", contact=ContactView(is_new=True))
    assert result.state is None and result.effects == []
    assert "1 Precios" in result.replies[0] and result.replies[0].startswith("¡Hola, soy Chaski!")


def test_low_confidence_guess_is_not_acted_on():
    result = turn("asdf qwer", "ask_price", confidence=0.2, low_confidence=True)
    assert result.replies[0].startswith("No entendí bien.")


def test_subscribe_runs_consent_language_region_then_saves():
    first = turn("quiero que me avisen", "subscribe")
    assert first.state == State("onboarding", "consent", first.state.data)
    assert "1 Sí 2 No" in first.replies[0]
    second = turn("1", state=first.state)
    assert kinds(second) == ["consent"] and second.state.step == "language"
    third = turn("2", state=second.state)
    assert third.state.step == "region"
    assert "suyu" in third.replies[0]  # asked in Quechua, the language just chosen
    last = turn("Puno", state=third.state)
    assert last.state is None
    assert last.effects[-1].kind == "set_profile"
    assert last.effects[-1].values == {"language": "qu", "region": "puno"}
    from flows.gsm7 import segment_count, to_gsm7

    assert "AVISAME" in last.replies[0]  # says how to choose what to receive, not "soon"
    assert segment_count(to_gsm7(last.replies[0])) == 1


def test_declining_consent_stores_nothing():
    first = turn("quiero que me avisen", "subscribe")
    result = turn("no", "deny", state=first.state)
    assert result.effects == [] and result.state is None
    assert "no guardamos" in result.replies[0]


def test_a_wrong_answer_is_asked_again_once_then_released():
    first = turn("6")  # change language
    assert first.state.step == "consent"
    again = turn("talvez", state=first.state)
    assert again.replies[0].startswith("No entendí tu respuesta.") and again.state.data["retried"]
    released = turn("talvez", state=again.state)
    assert released.state is None and released.flow == "menu"


def test_language_switch_with_the_language_named_and_consent_given():
    contact = ContactView(has_consent=True)
    result = turn("en quechua", "change_language", contact=contact, entities={"language": "qu"})
    assert result.state is None
    assert result.effects == [result.effects[0]] and result.effects[0].values == {"language": "qu"}
    assert "runasimi" in result.replies[0].lower()


def test_stop_in_the_middle_of_onboarding_wins():
    first = turn("quiero que me avisen", "subscribe")
    result = turn("BAJA", state=first.state)
    assert kinds(result) == ["opt_out"] and result.state is None


def test_model_heard_stop_is_confirmed_first():
    ask = turn("ya no quiero nada de esto", "opt_out", confidence=0.6)
    assert ask.effects == [] and ask.state.flow == "optout"
    assert kinds(turn("1", state=ask.state)) == ["opt_out"]
    assert turn("2", state=ask.state).effects == []


def test_stopped_contact_only_gets_the_way_back():
    stopped = ContactView(opted_out=True)
    for text, intent in [("hola", "greet"), ("1", None), ("cuanto esta la papa", "ask_price")]:
        result = turn(text, intent or "out_of_scope", contact=stopped)
        assert result.replies == ["No recibes mensajes de Chaski. Para volver, envía ALTA."]
        assert result.effects == [] and result.state is None
    back = turn("ALTA", contact=stopped)
    assert kinds(back) == ["opt_in"]


def test_emergency_reply_always_carries_105_and_linea_100():
    for contact in (ContactView(), ContactView(opted_out=True), ContactView(language="qu")):
        result = turn("mi pareja me pega", contact=contact)
        assert "105" in result.replies[0] and "Línea 100" in result.replies[0]
        assert result.sensitive and result.flow == "support"


def test_after_the_emergency_reply_3_asks_for_an_urgent_person():
    first = turn("4")
    result = turn("3", state=first.state)
    assert result.effects[0].kind == "handoff" and result.effects[0].values["urgent"] is True
    assert result.sensitive


def test_anything_said_inside_the_support_conversation_is_sensitive():
    first = turn("auxilio")
    result = turn("hola", "greet", state=first.state)
    assert result.sensitive


def test_menu_word_leaves_any_flow():
    first = turn("quiero que me avisen", "subscribe")
    result = turn("menu", state=first.state)
    assert result.state is None and "1 Precios" in result.replies[0]


def test_nlu_down_free_text_asks_for_numbers():
    result = turn("cuanto sta la papa", "out_of_scope", confidence=0.0, source="unavailable")
    assert result.replies[0].startswith("Ahora solo puedo leer números.")


def test_every_menu_reply_fits_one_sms_after_gsm7_rewriting():
    from flows.gsm7 import segment_count, to_gsm7

    contexts = [("hola", "greet"), ("???", "out_of_scope"), ("1", None), ("2", None), ("3", None),
                ("0", None)]
    for language in ("es", "qu"):
        for text, intent in contexts:
            result = turn(text, intent or "out_of_scope", contact=ContactView(language=language))
            for reply in result.replies:
                assert segment_count(to_gsm7(reply)) == 1, (language, text, reply)
        down = turn("x y z", "out_of_scope", confidence=0.0, source="unavailable",
                    contact=ContactView(language=language))
        assert segment_count(to_gsm7(down.replies[0])) == 1


def test_quechua_catalogue_covers_menu_onboarding_opt_out_and_emergency():
    from flows.catalog import catalogue, is_checked

    quechua = catalogue("qu")
    for key in ("menu", "menu_header", "consent_ask", "language_ask", "region_ask",
                "opt_out_done", "stopped_reminder", "emergency"):
        assert key in quechua, key
    assert not is_checked("qu") and not is_checked("ay")  # until a native speaker checks them
    assert "{police}" in quechua["emergency"] and "Línea {line100}" in quechua["emergency"]


def test_support_numbers_come_from_the_sourced_dated_directory():
    import yaml

    from flows.support import LINES_FILE, emergency_text

    lines = yaml.safe_load(LINES_FILE.read_text(encoding="utf-8"))["lines"]
    assert all(line["source"] and line["checked"] for line in lines)
    numbers = {line["id"]: line["number"] for line in lines}
    for language in ("es", "qu", "ay"):
        text = emergency_text(language)
        assert numbers["police"] in text and f"Línea {numbers['linea100']}" in text

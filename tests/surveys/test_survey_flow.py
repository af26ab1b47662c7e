"""The survey flow as a pure function: re-ask once, hand another request on, step aside for safety."""
from __future__ import annotations

from flows.base import ContactView, Ctx, State
from flows.router import respond
from flows.survey import SurveyTurn
from nlu.classifier import Parse
from tests.fakes.outbox import NOON


def test_clearly_another_question_after_a_re_ask_goes_to_normal_routing():
    questions = ({"key": "q", "type": "yes_no", "text": {"es": "¿Usa biol?"}},
                 {"key": "r", "type": "text", "text": {"es": "¿Algo más?"}})

    def turn(text, invalid, intent="ask_agroecology", confidence=0.95):
        survey = SurveyTurn(7, "s", questions, 0, invalid, "Gracias")
        parse = Parse(text, intent, confidence, source="rasa", low_confidence=confidence < 0.7)
        return respond(Ctx(ContactView(has_consent=True), "sms", text, parse, None, NOON,
                           survey=survey))

    first = turn("como preparo biol", 0)
    assert first.flow == "survey" and first.effects[0].values["invalid"] == 1
    second = turn("como preparo biol", 1)
    assert second.flow != "survey"
    assert second.effects[-1].values == {"participant_id": 7, "index": 0, "invalid": 0,
                                         "status": "left", "answer": None}
    unsure = turn("kmo preparo", 1, confidence=0.3)  # not clearly anything: skipped, next
    assert unsure.flow == "survey" and unsure.replies[0].startswith("Pasamos")
    assert turn("ya pues", 0, intent="affirm").effects[0].values["answer"]["value"] == "si"


def test_a_stop_or_a_cry_for_help_heard_by_the_model_is_never_filed_as_an_answer():
    text_question = ({"key": "c", "type": "text", "text": {"es": "¿Comentario?"}},)
    survey = SurveyTurn(7, "s", text_question, 0, 0, "Gracias")

    def turn(text, intent, confidence=0.5, state=None):
        parse = Parse(text, intent, confidence, source="rasa", low_confidence=confidence < 0.7)
        return respond(Ctx(ContactView(has_consent=True), "sms", text, parse, state, NOON,
                           survey=survey))

    stop = turn("ya no quiero nada de esto", "opt_out")
    assert stop.flow == "optout" and stop.state.step == "confirm"
    assert stop.effects[-1].values["status"] == "left"
    help_ = turn("mi marido me tiene asustada", "gbv_support")
    assert help_.flow == "support" and help_.sensitive and "105" in help_.replies[0]
    confirmed = turn("1", "ask_price", 1.0, state=State("optout", "confirm"))
    assert [e.kind for e in confirmed.effects] == ["opt_out"]  # the confirmation comes first


def test_a_stale_survey_lets_other_messages_pass_and_stays_open():
    questions = ({"key": "q", "type": "choice", "text": {"es": "¿Cultivo?"},
                  "options": [{"value": "papa", "es": "Papa"}, {"value": "maiz", "es": "Maiz"}]},
                 {"key": "r", "type": "text", "text": {"es": "¿Algo más?"}})

    def turn(text, index=0):
        survey = SurveyTurn(7, "s", questions, index, 0, "Gracias", fresh=False)
        parse = Parse(text, "out_of_scope", 0.0, source="unavailable")
        return respond(Ctx(ContactView(has_consent=True), "sms", text, parse, None, NOON,
                           survey=survey))

    passed = turn("quien gano el partido")
    assert passed.flow != "survey" and all(e.kind != "survey" for e in passed.effects)
    assert turn("2").effects[0].values["answer"]["value"] == "maiz"
    assert turn("saltar").effects[0].values["answer"]["skipped"] is True
    assert turn("quien gano el partido", index=1).flow != "survey"  # free text: only when fresh

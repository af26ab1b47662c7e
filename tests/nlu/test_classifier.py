"""Classifier: the confidence threshold and the ranking kept for the clarifying question."""
import pytest

from nlu.classifier import Classifier, is_low_confidence, ranking_from_rasa


class FakeClient:
    def __init__(self, confidence, ranking=None, intent="ask_price"):
        self.answer = {"intent": {"name": intent, "confidence": confidence},
                       "intent_ranking": ranking or [{"name": intent, "confidence": confidence}],
                       "entities": []}

    def parse(self, text):
        return self.answer


@pytest.mark.parametrize("confidence,low", [(0.0, True), (0.49, True), (0.5, False), (0.97, False)])
def test_guess_below_the_threshold_is_low_confidence(confidence, low):
    parse = Classifier(FakeClient(confidence), min_confidence=0.5, intent_floors={}).classify("papa helada")
    assert parse.low_confidence is low and parse.intent == "ask_price"
    assert is_low_confidence(confidence, 0.5) is low


def test_rules_are_never_low_confidence():
    parse = Classifier(FakeClient(0.01), min_confidence=0.5).classify("BAJA")
    assert parse.intent == "opt_out" and not parse.low_confidence and parse.source == "rule"


def test_ranking_keeps_contract_intents_best_first():
    ranking = [{"name": "ask_price", "confidence": 0.4}, {"name": "nlu_fallback", "confidence": 0.3},
               {"name": "ask_climate", "confidence": 0.2}, {"name": "greet", "confidence": 0.1}]
    assert ranking_from_rasa({"intent_ranking": ranking}) == (
        ("ask_price", 0.4), ("ask_climate", 0.2), ("greet", 0.1))
    parse = Classifier(FakeClient(0.4, ranking), min_confidence=0.5, intent_floors={}).classify("papa helada")
    assert parse.ranking[0] == ("ask_price", 0.4) and parse.low_confidence


def test_default_threshold_comes_from_the_settings():
    from bot.settings import Settings

    assert Classifier(FakeClient(0.9)).min_confidence == Settings().nlu_min_confidence


def test_a_floor_per_intent_overrides_the_setting_for_that_intent_only():
    floors = {"ask_price": 0.9}
    assert Classifier(FakeClient(0.8), min_confidence=0.5, intent_floors=floors).classify("x").low_confidence
    greet = FakeClient(0.8, intent="greet")
    assert not Classifier(greet, min_confidence=0.5, intent_floors=floors).classify("x").low_confidence


def test_the_shipped_floors_are_contract_intents_within_reason():
    from nlu.classifier import GBV_MODEL_MIN_CONFIDENCE, INTENT_MIN_CONFIDENCE, INTENTS

    assert set(INTENT_MIN_CONFIDENCE) <= set(INTENTS)
    assert all(0.3 <= floor <= 0.95 for floor in INTENT_MIN_CONFIDENCE.values())
    assert 0.5 <= GBV_MODEL_MIN_CONFIDENCE < 1.0


def test_an_unsure_model_violence_guess_becomes_the_question_not_the_support_reply():
    ranking = [{"name": "gbv_support", "confidence": 0.6}, {"name": "opt_out", "confidence": 0.2},
               {"name": "out_of_scope", "confidence": 0.15}]
    client = FakeClient(0.6, ranking, intent="gbv_support")
    parse = Classifier(client, gbv_min_confidence=0.9).classify("la tarea de mi hijo")
    # Never opt_out as the stand-in; the support option stays in the ranking for the question.
    assert parse.intent == "out_of_scope" and parse.low_confidence and parse.source == "rasa"
    assert parse.ranking[0] == ("gbv_support", 0.6)
    sure = Classifier(FakeClient(0.95, intent="gbv_support"), gbv_min_confidence=0.9).classify("x")
    assert sure.intent == "gbv_support"


def test_the_emergency_rules_ignore_the_model_floor():
    parse = Classifier(FakeClient(0.01, intent="out_of_scope"), gbv_min_confidence=0.99).classify(
        "mi esposo me pega")
    assert parse.intent == "gbv_support" and parse.source == "rule" and not parse.low_confidence

"""Classifier: the confidence threshold and the ranking kept for the clarifying question."""
import pytest

from nlu.classifier import Classifier, is_low_confidence, ranking_from_rasa


class FakeClient:
    def __init__(self, confidence, ranking=None):
        self.answer = {"intent": {"name": "ask_price", "confidence": confidence},
                       "intent_ranking": ranking or [{"name": "ask_price", "confidence": confidence}],
                       "entities": []}

    def parse(self, text):
        return self.answer


@pytest.mark.parametrize("confidence,low", [(0.0, True), (0.49, True), (0.5, False), (0.97, False)])
def test_guess_below_the_threshold_is_low_confidence(confidence, low):
    parse = Classifier(FakeClient(confidence), min_confidence=0.5).classify("papa helada")
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
    parse = Classifier(FakeClient(0.4, ranking), min_confidence=0.5).classify("papa helada")
    assert parse.ranking[0] == ("ask_price", 0.4) and parse.low_confidence


def test_default_threshold_comes_from_the_settings():
    from bot.settings import Settings

    assert Classifier(FakeClient(0.9)).min_confidence == Settings().nlu_min_confidence

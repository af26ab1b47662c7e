"""Without the model: the lookup tables and keywords still place what they can."""
import pytest

from nlu import fallback
from nlu.classifier import Classifier
from nlu.client import NLUUnavailable


class DownClient:
    def parse(self, text):
        raise NLUUnavailable("down")


@pytest.mark.parametrize("text, intent, entities", [
    ("papa huancayo", "ask_price", {"product": "papa", "location": "huancayo"}),
    ("cuanto sta la papita en huancayo", "ask_price", {"product": "papa", "location": "huancayo"}),
    ("precio del chuño", "ask_price", {"product": "chuno"}),
    ("alerta en puno", "ask_climate", {"location": "puno"}),
    ("va a helar en juliaca?", "ask_climate", {"hazard": "helada", "location": "juliaca"}),
    ("como hago biol", "ask_agroecology", {"topic": "biol"}),
    ("AVISAME", "subscribe", {}),
    ("avisenme las heladas", "subscribe", {"hazard": "helada"}),
    ("hola", "greet", {}),
    ("Buenas tardes", "greet", {}),
    ("allillanchu", "greet", {}),
    ("gracias mamita", "thanks", {}),
    ("chau", "goodbye", {}),
    ("quiero hablar con alguien", "human_handoff", {}),
    ("ayuda", "help", {}),
])
def test_what_the_lookups_and_keywords_place(text, intent, entities):
    assert fallback.understand(text) == (intent, entities)


@pytest.mark.parametrize("text", ["blablabla", "quien gano el partido", "holanda", "chaucha"])
def test_what_they_cannot_place_is_none(text):
    assert fallback.understand(text) is None  # whole words only: "holanda" is no greeting


def test_the_classifier_uses_them_when_the_server_is_down():
    classifier = Classifier(DownClient())
    price = classifier.classify("papa huancayo")
    assert (price.intent, price.source, price.entities) == (
        "ask_price", "fallback", {"product": "papa", "location": "huancayo"})
    assert not price.nlu_down and not price.low_confidence
    assert classifier.classify("blablabla").nlu_down
    assert classifier.classify("STOP").source == "rule"  # the rules still come first


def test_every_lookup_value_is_canonical():
    for name, forms in fallback.vocabulary().items():
        assert forms, name
        assert all(value == value.lower() and "á" not in value for value in forms.values()), name

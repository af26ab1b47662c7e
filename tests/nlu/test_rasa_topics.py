"""Agroecology and support questions through the real Rasa server and the webhook."""
import pytest

from tests.fakes.signing import inbound_form, new_sid, post_signed
from tests.nlu.test_rasa_integration import nlu_app  # noqa: F401 - fixture

pytestmark = pytest.mark.rasa


def ask(app, text):
    response = post_signed(app.test_client(), "/webhooks/twilio", inbound_form(text, sid=new_sid()))
    return response.get_data(as_text=True)


def test_model_routes_farming_questions_to_the_knowledge_base(nlu_app):  # noqa: F811
    assert "Fuente: INIA 2008" in ask(nlu_app, "como preparo biol")
    assert "Rancha (tizon tardio)" in ask(nlu_app, "mi papa tiene rancha q le echo")
    assert "1 Biol" in ask(nlu_app, "como preparo abono")  # only the category is clear


def test_model_heard_cry_for_help_gets_the_numbers_and_options(nlu_app):  # noqa: F811
    body = ask(nlu_app, "mi pareja me grita y me empuja")
    assert "105" in body and "Linea 100" in body and "3 hablar con una persona" in body

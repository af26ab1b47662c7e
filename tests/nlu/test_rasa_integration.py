"""Through the real Rasa 3.6 server (started once per session by the rasa_url fixture)."""
import json
from datetime import datetime, timezone

import pytest

from tests.conftest import make_app
from tests.fakes.signing import inbound_form, new_sid, post_signed

pytestmark = pytest.mark.rasa


@pytest.fixture
def nlu_app(database_url, rasa_url):
    from bot.services import services
    from tests.conftest import _empty_tables

    app = make_app(database_url, NLU_URL=rasa_url)
    _empty_tables(services(app).db)
    return app


def classify(app, lines):
    result = app.test_cli_runner().invoke(args=["nlu-classify"], input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_healthz_sees_the_nlu_server(nlu_app):
    assert nlu_app.test_client().get("/healthz").get_json() == {
        "db": True, "nlu": True, "sender_seen": None, "scheduler_seen": None}


def test_nlu_classify_through_the_model(nlu_app):
    rows = classify(nlu_app, ["cuanto sta la papa en huancayo", "va a helar mañana",
                              "como preparo biol", "allillanchu", "STOP"])
    by_text = {row["text"]: row for row in rows}
    price = by_text["cuanto sta la papa en huancayo"]
    assert price["intent"] == "ask_price" and price["source"] == "rasa"
    assert price["entities"].get("product") == "papa"
    assert price["entities"].get("location") == "huancayo"
    assert by_text["va a helar mañana"]["intent"] == "ask_climate"
    assert by_text["como preparo biol"]["intent"] == "ask_agroecology"
    assert by_text["allillanchu"]["intent"] == "greet"
    assert by_text["STOP"] == {"text": "STOP", "intent": "opt_out", "confidence": 1.0,
                               "entities": {}, "source": "rule"}
    assert all(0.0 <= row["confidence"] <= 1.0 for row in rows)


def test_free_text_through_the_webhook_and_the_model(nlu_app, clock):
    clock(datetime(2026, 11, 21, 17, 0, tzinfo=timezone.utc))  # the day after the sample bulletin
    client = nlu_app.test_client()
    greet = post_signed(client, "/webhooks/twilio", inbound_form("buenas tardes", sid=new_sid()))
    assert "<Message>¡Hola, soy Chaski! Elige un numero:\n1 Precios" in greet.get_data(as_text=True)
    nlu_app.test_cli_runner().invoke(
        args=["import-prices", "bot/knowledge/demo_data/SAMPLE_precios_muestra.csv"])
    price = post_signed(client, "/webhooks/twilio",
                        inbound_form("a cuanto esta la quinua en juliaca", sid=new_sid()))
    text = price.get_data(as_text=True)
    assert "<Message>Quinua - Mercado Túpac Amaru - Juliaca" not in text  # GSM-7 on SMS
    assert "<Message>Quinua - Mercado Tupac Amaru - Juliaca, 20/11/2026" in text
    assert "Fuente: MUESTRA / sample data." in text  # sample prices never pass as real ones


def test_a_new_model_is_loaded_into_the_running_server_and_answers(rasa_url, tmp_path):
    """What a retraining that keeps its model does: PUT /model, no restart (issue 11)."""
    import shutil

    from nlu.client import RasaClient
    from nlu.runtime import model_path

    new = tmp_path / "nlu-retrained-copy.tar.gz"
    shutil.copy(model_path(), new)
    client = RasaClient(rasa_url, timeout=30)
    try:
        before = client.served_model()
        client.load_model(new)
        assert client.served_model() == new.name != before
        assert client.parse("cuanto sta la papa en huancayo")["intent"]["name"] == "ask_price"
        client.load_model(model_path())  # put the suite's model back for the tests after this
        assert client.served_model() == before
    finally:
        client.close()

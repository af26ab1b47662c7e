"""Follow-ups through the engine: "y en lima?", "y la quinua?", "y mañana?" in the last context."""
from datetime import timedelta

import pytest

from bot.knowledge.alerts import import_alerts
from tests.fakes.topics import DATA, NOW, ask, cli  # noqa: F401 - fixture

PHONE = "+51900000071"


@pytest.fixture
def facts(app, db):
    assert cli(app, "import-prices", DATA / "prices_good.csv").exit_code == 0
    with db.session() as s:
        import_alerts(s, DATA / "cap_heladas.xml", NOW)


def test_y_en_otro_lugar_gives_the_same_product_there(ask, facts):
    first = ask("cuanto sta la papa en huancayo", "ask_price", phone=PHONE, product="papa",
                location="huancayo")[0]
    assert "Huancayo" in first
    # The model took it for a climate question; in the price context it is the price in Lima.
    reply = ask("y en lima?", "ask_climate", phone=PHONE, location="lima")[0]
    assert reply.startswith("Papa") and "Lima" in reply and "aviso" not in reply.lower()


def test_y_la_otra_cosa_gives_its_price_in_the_same_place(ask, facts):
    ask("cuanto sta la papa en huancayo", "ask_price", phone=PHONE, product="papa",
        location="huancayo")
    reply = ask("y la quinua?", "ask_price", phone=PHONE, product="quinua")[0]
    assert reply.startswith("Quinua") or "quinua" in reply.lower()
    assert "Huancayo" in reply or "Junin" in reply


def test_y_manana_gives_the_climate_of_the_same_zone(ask, facts):
    first = ask("hay helada en puno?", "ask_climate", phone=PHONE, hazard="helada",
                location="puno")[0]
    assert first.startswith("AVISO NARANJA: Heladas en Puno")
    again = ask("y mañana?", "out_of_scope", phone=PHONE)[0]
    assert again.startswith("AVISO NARANJA: Heladas en Puno")


def test_a_clear_new_intent_wins(ask, facts):
    ask("cuanto sta la papa en huancayo", "ask_price", phone=PHONE, product="papa",
        location="huancayo")
    assert ask("gracias", "thanks", phone=PHONE)[0].startswith("¡De nada!")
    ask("cuanto sta la papa en huancayo", "ask_price", phone=PHONE, product="papa",
        location="huancayo")
    reply = ask("y el clima en puno?", "ask_climate", phone=PHONE, location="puno")[0]
    assert reply.startswith("AVISO NARANJA: Heladas en Puno")  # "clima": a climate question


def test_the_context_is_forgotten_after_30_minutes(ask, facts):
    ask("cuanto sta la papa en huancayo", "ask_price", phone=PHONE, product="papa",
        location="huancayo")
    later = NOW + timedelta(minutes=31)
    reply = ask("y en lima?", "ask_climate", phone=PHONE, now=later, location="lima")[0]
    assert not reply.startswith("Papa")


def test_with_the_model_down_a_place_alone_still_follows_up(talk, facts, clock):
    clock(NOW)
    talk("papa huancayo", phone=PHONE)
    reply = talk("y en lima?", phone=PHONE)[0]
    assert reply.startswith("Papa") and "Lima" in reply

"""With the Rasa server stopped (the `talk` fixture's NLU URL is a closed port): what still works."""
import pytest

from bot.knowledge.alerts import import_alerts
from tests.fakes.topics import DATA, NOW, cli

PHONE = "+51900000061"


@pytest.fixture
def facts(app, db, clock):
    clock(NOW)
    assert cli(app, "import-prices", DATA / "prices_good.csv").exit_code == 0
    with db.session() as s:
        import_alerts(s, DATA / "cap_heladas.xml", NOW)


def test_greetings_thanks_and_goodbyes(talk):
    assert talk("hola", phone=PHONE)[0].startswith("¡Hola, soy Chaski!")
    assert talk("gracias", phone=PHONE)[0].startswith("¡De nada!")
    assert talk("chau", phone=PHONE)[0].startswith("¡Hasta pronto!")


def test_product_and_place_give_the_price(talk, facts):
    reply = talk("papa huancayo", phone=PHONE)[0]
    assert reply.startswith("Papa - Mercado Mayorista Raez Patiño - Huancayo") or \
        reply.startswith("Papa") and "Huancayo" in reply
    assert "Fuente: PRUEBA / test data" in reply


def test_alert_and_place_give_the_warning(talk, facts):
    assert talk("alerta en puno", phone=PHONE)[0].startswith("AVISO NARANJA: Heladas en Puno")


def test_avisame_and_region_names_in_onboarding_then_a_price_subscription(talk, facts):
    assert "permiso" in talk("AVISAME", phone=PHONE)[0]  # consent comes first
    talk("1", phone=PHONE)
    assert "departamento" in talk("1", phone=PHONE)[0]  # Español; then the region is asked
    assert talk("junin", phone=PHONE)[0].startswith("Listo, guardamos: Español, Junin")
    talk("papa huancayo", phone=PHONE)
    assert "precio de papa cada semana" in talk("avisame", phone=PHONE)[0]


def test_an_agroecology_keyword_gives_the_topic_and_mas_continues(talk):
    assert talk("como hago biol", phone=PHONE)[0].startswith("El biol es un abono liquido")
    assert talk("MAS", phone=PHONE)[0].startswith("Biol:")


def test_only_what_it_cannot_place_gets_the_digits_menu(talk):
    assert talk("blablabla", phone=PHONE)[0].startswith("Ahora solo puedo leer numeros")

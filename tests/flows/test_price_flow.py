"""Price questions through the engine on real imports, and the flow alone with a fake Facts."""
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from flows.gsm7 import segment_count, to_gsm7
from flows import ContactView, Ctx, prices
from flows.base import State
from flows.records import MarketView, PriceView
from models import Contact, Subscription
from nlu.classifier import Parse
from tests.fakes.signing import FAKE_PHONE
from tests.fakes.topics import DATA, NOW, ask, cli  # noqa: F401 - fixture

SAMPLE = "bot/knowledge/demo_data/SAMPLE_precios_muestra.csv"


@pytest.fixture
def bulletin(app):
    assert cli(app, "import-prices", DATA / "prices_good.csv").exit_code == 0


def consent(db, phone=FAKE_PHONE, region=None):
    with db.session() as s:
        contact = s.scalar(select(Contact).where(Contact.phone == phone))
        contact.consent_at, contact.region = NOW, region


def test_product_and_place_give_min_avg_max_unit_date_trend_and_source(bulletin, ask):
    reply = ask("papa huancayo", "ask_price", product="papa", location="huancayo")[0]
    assert reply.startswith("Papa - Mercado Mayorista Raez Patiño - Huancayo, 20/11/2026 "
                            "(S/ por kg, min-prom-max):")
    assert "amarilla: 2.20-2.64-3.00 sube 10%" in reply
    assert "blanca: 1.00-1.18-1.40 igual" in reply
    assert "Fuente: PRUEBA / test data." in reply and "AVISAME" in reply
    assert segment_count(reply) <= 2


def test_variety_named_in_the_product_narrows_the_answer(bulletin, ask):
    reply = ask("papa amarilla en juliaca", "ask_price", product="papa amarilla", location="juliaca")[0]
    assert "Papa amarilla - Mercado Tupac Amaru - Juliaca" in reply and "1.90-2.10-2.30" in reply
    assert "blanca" not in reply


def test_empty_min_and_max_show_the_average_and_other_units(bulletin, ask):
    reply = ask("olluco hyo", "ask_price", product="olluco", location="huancayo")[0]
    assert "prom 18.50" in reply and "S/ por arroba" in reply


def test_product_only_uses_the_contact_region(bulletin, ask, db):
    ask("hola", "greet")
    consent(db, region="puno")
    reply = ask("precio papa", "ask_price", product="papa")[0]
    assert "Juliaca" in reply and "Huancayo" not in reply


def test_product_only_without_region_lists_the_freshest_markets(bulletin, ask):
    reply = ask("precio papa", "ask_price", product="papa")[0]
    assert reply.startswith("Papa amarilla - mercados, 20/11/2026")
    lines = reply.splitlines()
    assert lines[1].startswith("Huancayo: 2.20-2.64-3.00") and lines[2].startswith("Juliaca:")
    assert "Santa Anita: 2.50-2.90-3.20 (19/11)" in reply  # an older report carries its own date
    assert "Otras: blanca." in reply


def test_place_only_asks_which_product_then_answers_the_number(bulletin, ask):
    reply = ask("precios de huancayo", "ask_price", location="huancayo")[0]
    assert reply.startswith("¿Qué producto en Huancayo? 1 papa 2 olluco")
    assert "Papa - Mercado Mayorista Raez Patiño - Huancayo" in ask("1")[0]


def test_menu_one_lists_products_and_a_typed_name_is_accepted(bulletin, ask):
    assert ask("1")[0].startswith("Precios: ¿qué producto? 1 papa")
    reply = ask("quinua")[0]
    assert reply.startswith("Quinua - Mercado Tupac Amaru - Juliaca, 20/11/2026 (S/ por saco")
    assert "blanca: 300.00-320.00-350.00" in reply


def test_misspelt_product_gets_the_closest_matches(bulletin, ask):
    reply = ask("cuanto sta la pappa en juliaca", "ask_price", location="juliaca")[0]
    assert "¿Quisiste decir? 1 papa" in reply
    assert "Juliaca" in ask("1")[0]  # the place is remembered
    unknown = ask("precio quinoa roja", "ask_price", product="kiwicha")[0]
    assert unknown.startswith("No tengo precios de kiwicha. Tengo: 1 papa")


def test_unknown_place_and_missing_market_offer_alternatives(bulletin, ask):
    reply = ask("trucha en tarma", "ask_price", product="trucha", location="tarma")[0]
    assert reply.startswith("No tengo precios de trucha en Tarma. Otros mercados:")
    assert "Huaraz" in reply


def test_a_town_without_market_gets_its_region_markets(bulletin, ask):
    reply = ask("papa en jauja", "ask_price", product="papa", location="jauja")[0]
    assert reply.startswith("Sin mercado en Jauja; en Junin:\nPapa - Mercado Mayorista Raez Patiño")


def test_stale_data_is_labelled_with_its_date(bulletin, ask):
    reply = ask("trucha huaraz", "ask_price", product="trucha", location="huaraz")[0]
    assert reply.startswith("OJO: ultimo dato del 30/10/2026, puede haber cambiado.")


def test_nothing_loaded_says_so(ask):
    assert ask("1")[0].startswith("Precios: aun no tenemos datos cargados.")


def test_sample_data_is_never_shown_as_real(app, ask):
    cli(app, "load-demo")
    reply = ask("papa huancayo", "ask_price", product="papa", location="huancayo")[0]
    assert "Fuente: MUESTRA / sample data." in reply


def test_whatsapp_answer_is_richer(bulletin, ask):
    reply = ask("precio papa", "ask_price", channel="whatsapp", product="papa")[0]
    assert "Santa Anita amarilla: 2.50-2.90-3.20" in reply and "blanca" in reply
    assert "sube 10% vs 13/11" in reply and "mín-prom-máx" in reply


def test_every_price_reply_fits_two_sms_even_with_many_markets(app, ask):
    cli(app, "import-prices", SAMPLE)
    for text, entities in [("papa", {"product": "papa"}),
                           ("papa puno", {"product": "papa", "location": "puno"}),
                           ("cuy", {"product": "cuy"}), ("1", {})]:
        reply = ask(text, "ask_price" if entities else None, **entities)[0]
        assert segment_count(reply) <= 2, reply


def test_avisame_with_consent_records_the_weekly_digest(bulletin, ask, db):
    ask("hola", "greet")
    consent(db, region="junin")
    ask("papa huancayo", "ask_price", product="papa", location="huancayo")
    assert ask("AVISAME")[0].startswith("Listo: te enviaremos el precio de papa cada semana para Junin.")
    ask("papa huancayo", "ask_price", product="papa", location="huancayo")
    ask("avisame")
    with db.session() as s:
        rows = s.scalars(select(Subscription)).all()
    assert [(r.kind, r.product, r.region, r.status) for r in rows] == [("prices", "papa", "junin", "active")]


def test_avisame_without_consent_asks_first_and_records_only_after_yes(bulletin, ask, db):
    ask("quinua juliaca", "ask_price", product="quinua", location="juliaca")
    assert "permiso" in ask("avisame")[0]
    with db.session() as s:
        assert s.scalar(select(Subscription)) is None
    ask("1")  # consent
    assert ask("1")[0].startswith("Listo: te enviaremos el precio de quinua cada semana para Puno.")
    with db.session() as s:
        assert s.scalar(select(Subscription.product)) == "quinua"


def test_subscribing_to_a_product_without_prices_offers_the_known_ones(bulletin, ask, db):
    reply = ask("quiero el precio del mango cada semana", "subscribe", product="mango")[0]
    assert reply.startswith("No tengo precios de mango.")
    with db.session() as s:
        assert s.scalar(select(Subscription)) is None


def test_declining_consent_records_nothing(bulletin, ask, db):
    ask("quinua juliaca", "ask_price", product="quinua", location="juliaca")
    ask("avisame")
    ask("2")
    with db.session() as s:
        assert s.scalar(select(Subscription)) is None


# ---- the flow alone, with a fake Facts ----
class FakeFacts:
    """The Facts methods the price flow calls, over a fixed list of rows."""

    def __init__(self, rows):
        self.rows = rows

    def products(self, market_ids=None, limit=8):
        return sorted({r.product for r in self.rows})

    def find_product(self, text):
        return (text, "") if text in self.products() else None

    def similar_products(self, text, limit=3):
        return []

    def markets_at(self, place):
        return [r.market for r in self.rows if r.market.short.lower() == place][:1]

    def markets_in(self, region):
        return list({r.market.id: r.market for r in self.rows if r.market.region == region}.values())

    def latest_prices(self, product, variety="", market_ids=None):
        return [r for r in self.rows if r.product == product
                and (market_ids is None or r.market.id in market_ids)]


def market(n):
    return MarketView(n, f"Mercado Número {n} de la Sierra - Pueblo{n}", "puno")


def row(n, variety="", day=date(2026, 11, 20), prev=None):
    return PriceView("papa", variety, market(n), "kg", day, 100 + n, 150 + n, 200 + n,
                     "MIDAGRI", day - timedelta(days=7) if prev else None, prev)


def flow_turn(facts, text="papa", channel="sms", lang="es", **entities):
    parse = Parse(text, "ask_price", 0.9, entities or {"product": "papa"})
    return prices.start(Ctx(ContactView(language=lang), channel, text, parse, None, NOW, facts=facts))


def test_trend_words_and_rounding():
    facts = FakeFacts([row(1, "a", prev=150), row(1, "b", prev=100), row(1, "c", prev=300), row(1, "d")])
    reply = flow_turn(facts, location="pueblo1").replies[0]
    assert "a: 1.01-1.51-2.01 igual" in reply and "b: 1.01-1.51-2.01 sube 51%" in reply
    assert "c: 1.01-1.51-2.01 baja 50%" in reply and "d: 1.01-1.51-2.01\n" in reply


def test_many_markets_are_cut_to_two_sms_with_a_count_of_the_rest():
    facts = FakeFacts([row(n) for n in range(1, 30)])
    reply = flow_turn(facts).replies[0]
    assert segment_count(to_gsm7(reply)) == 2 and "más)" in reply
    assert reply.endswith("AVISAME: precio cada semana.")
    whatsapp = flow_turn(facts, channel="whatsapp").replies[0]
    assert whatsapp.count("Pueblo") == 29


def test_quechua_contact_gets_the_key_lines_in_quechua():
    facts = FakeFacts([row(1, "a", prev=100)])
    result = flow_turn(facts, lang="qu", location="pueblo1")
    assert "wichan 51%" in result.replies[0] and "Maymanta: MIDAGRI." in result.replies[0]
    assert result.state == State("prices", "offer", {"product": "papa", "variety": "", "region": "puno",
                                                      "location": "pueblo1", "at": NOW.isoformat()})

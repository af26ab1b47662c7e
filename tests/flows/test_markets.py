"""Where to sell: the market directory answers by region (named, from her profile, or asked)."""
from __future__ import annotations

from pathlib import Path

import pytest

from flows import markets
from flows.gsm7 import segment_count

FIXTURE = Path(__file__).resolve().parents[1] / "data" / "markets.yml"


@pytest.fixture
def directory(monkeypatch):
    monkeypatch.setattr(markets, "MARKETS_FILE", FIXTURE)
    return markets.markets()


@pytest.mark.parametrize("text", ["donde puedo vender mis papas", "a quien vendo mi quinua",
                                  "hay ferias agroecologicas?", "quiero vender mis productos donde"])
def test_where_to_sell_questions_are_recognised(text):
    assert markets.asks_where_to_sell(text)


@pytest.mark.parametrize("text", ["cuanto sta la papa en huancayo", "como preparo biol", "vendi mi vaca"])
def test_other_questions_are_not(text):
    assert not markets.asks_where_to_sell(text)


def test_the_directory_answers_by_the_region_named(directory, talk):
    reply = talk("donde puedo vender mi quinua en puno", phone="+51900000071")[0]
    assert "Donde vender en Puno" in reply and "Biomercado de Prueba Puno" in reply
    assert "Feria de Prueba Huancayo" not in reply and "Diario de prueba 2025" in reply
    assert segment_count(reply) <= 2


def test_without_a_region_it_asks_then_answers(directory, talk):
    assert talk("donde puedo vender", phone="+51900000072")[0].startswith("¿En qué departamento")
    reply = talk("5", phone="+51900000072")[0]
    assert "Feria de Prueba Huancayo, Plaza de prueba: domingos." in reply
    assert "Fuente: Municipalidad de prueba 2026" in reply


def test_a_region_with_no_market_says_so(directory, talk):
    reply = talk("donde puedo vender en piura", phone="+51900000073")[0]
    assert "No tengo ferias confirmadas en Piura" in reply


def test_the_shipped_directory_has_a_source_and_a_date_for_every_entry():
    for market in markets.markets():
        assert market.source and market.source_date and market.checked, market.name

"""A shared WhatsApp location, through the signed webhook: saved with consent, clear outside."""
from __future__ import annotations

from sqlalchemy import func, select

from bot.knowledge.prices import import_prices
from bot.privacy.contacts import export
from models import Contact
from tests.fakes.topics import DATA
from tests.whatsapp_inbound.conftest import (AYACUCHO, BUENOS_AIRES, HUANCAVELICA, JAUJA, contact,
                                             post_whatsapp, share_location)

SHE = "+51900000061"  # FAKE test numbers
OTHER = "+51900000062"


def test_a_location_in_jauja_saves_junin_and_jauja_after_consent(client, db):
    asked = share_location(client, SHE, JAUJA, Address="Jr. Junín 123", Label="Mi chacra")
    assert "Tu ubicación está en Jauja, Junín." in asked and "¿Aceptas? 1 Sí 2 No" in asked
    she = contact(db, SHE)
    assert (she.region, she.latitude, she.consent_at) == (None, None, None)  # nothing before yes
    saved = post_whatsapp(client, SHE, "1")
    assert "Guardamos: Jauja, Junín." in saved
    she = contact(db, SHE)
    assert (she.region, she.province) == ("junin", "jauja")
    assert (she.latitude, she.longitude) == (-11.776, -75.499)
    assert she.consent_at is not None and she.located_at is not None
    with db.session() as s:  # what is stored about her says so (contact export)
        stored = export(s, s.get(Contact, she.id))
    assert stored["location"]["latitude"] == -11.776
    told = post_whatsapp(client, SHE, "MIS DATOS")  # and so does what she is told
    assert "Junín; el punto de la ubicación que compartiste;" in told
    # once she has consented, a new location is saved at once
    moved = share_location(client, SHE, HUANCAVELICA)
    assert "Guardamos: Huancavelica, Huancavelica." in moved
    assert contact(db, SHE).region == "huancavelica"


def test_a_no_keeps_nothing(client, db):
    share_location(client, SHE, JAUJA)
    assert "no guardamos tu ubicación" in post_whatsapp(client, SHE, "2")
    assert "ubicación" not in post_whatsapp(client, SHE, "MIS DATOS")
    she = contact(db, SHE)
    assert (she.region, she.latitude, she.consent_at) == (None, None, None)


def test_a_point_outside_peru_gets_a_clear_reply_and_nothing_is_stored(client, db):
    reply = share_location(client, SHE, BUENOS_AIRES)
    assert "Esa ubicación está fuera del Perú." in reply
    elsewhere = share_location(client, OTHER, AYACUCHO)
    assert "Esa ubicación está en Ayacucho. Por ahora Chaski atiende" in elsewhere
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Contact)
                        .where(Contact.latitude.is_not(None) | Contact.region.is_not(None))) == 0


def test_a_location_answers_the_region_question_of_onboarding(client, db):
    post_whatsapp(client, SHE, "quiero recibir avisos")  # rules only: subscribe -> onboarding
    post_whatsapp(client, SHE, "1")  # consent
    asked = post_whatsapp(client, SHE, "1")  # Spanish
    assert "¿En qué departamento está tu chacra?" in asked and "comparte tu ubicación" in asked
    done = share_location(client, SHE, JAUJA)
    assert "Jauja, Junín" in done
    she = contact(db, SHE)
    assert (she.region, she.province, she.latitude) == ("junin", "jauja", -11.776)


def test_a_located_contact_gets_the_nearest_market_when_she_names_no_place(client, db):
    with db.session() as s:
        import_prices(s, DATA / "prices_good.csv")
    share_location(client, SHE, HUANCAVELICA)  # no market in Huancavelica: Huancayo is nearest
    post_whatsapp(client, SHE, "1")
    post_whatsapp(client, SHE, "1")  # menu: 1 prices
    reply = post_whatsapp(client, SHE, "papa")
    assert "Mercado más cercano a tu ubicación:" in reply
    assert "Huancayo" in reply and "Juliaca" not in reply and "Santa Anita" not in reply
    post_whatsapp(client, OTHER, "1")  # someone not located gets every market
    assert "Juliaca" in post_whatsapp(client, OTHER, "papa")

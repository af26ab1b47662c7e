"""Climate questions through the engine on real CAP imports; subscriptions; SMS limits."""
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from flows.gsm7 import segment_count
from bot.knowledge.demo import alerts_for_today
from models import Contact, Subscription, utcnow
from tests.fakes.signing import FAKE_PHONE
from tests.fakes.topics import DATA, NOW, ask, cli  # noqa: F401 - fixture


@pytest.fixture
def alerts(app):
    assert cli(app, "import-alerts", DATA / "cap_heladas.xml").exit_code == 0
    assert cli(app, "import-alerts", DATA / "cap_feed.rss").exit_code == 0


def profile(db, region, consent=True, phone=FAKE_PHONE):
    with db.session() as s:
        contact = s.scalar(select(Contact).where(Contact.phone == phone))
        contact.region, contact.consent_at = region, NOW if consent else None


def test_alert_for_a_place_shows_level_validity_instruction_and_source(alerts, ask):
    reply = ask("alerta en puno", "ask_climate", location="puno")[0]
    assert reply.startswith("AVISO NARANJA: Heladas en Puno. Desde 21/11 18:00 hasta 24/11 08:00.")
    assert "Qué hacer: Abrigue a niños y mayores y proteja a sus animales." in reply
    assert "Fuente: PRUEBA / test data, emitido 21/11 10:00." in reply
    assert segment_count(reply) <= 2


def test_va_a_helar_uses_the_contact_region(alerts, ask, db):
    ask("hola", "greet")
    profile(db, "puno")
    assert ask("va a helar?", "ask_climate", hazard="helada")[0].startswith("AVISO NARANJA: Heladas en Puno.")


def test_no_active_warning_says_so_with_the_date_checked(alerts, ask):
    reply = ask("va a helar en huancavelica", "ask_climate", hazard="helada", location="huancavelica")[0]
    assert reply.startswith(
        "No hay avisos vigentes de heladas para Huancavelica (revisado 22/11/2026 10:00).")


def test_other_hazards_are_mentioned_and_mas_shows_them(alerts, ask):
    reply = ask("va a helar en cusco", "ask_climate", hazard="helada", location="cusco")[0]
    assert "No hay avisos vigentes de heladas para Cusco" in reply and "1 aviso(s) de otro tipo" in reply
    assert ask("MAS")[0].startswith("AVISO AMARILLO: Precipitaciones con granizo en Cusco.")


def test_expired_alerts_are_never_shown(alerts, ask):
    assert ask("alerta en ancash", "ask_climate", location="ancash")[0].startswith("No hay avisos vigentes")
    later = datetime(2026, 11, 24, 14, 0, tzinfo=timezone.utc)  # the frost warning expired at 13:00
    assert ask("alerta puno", "ask_climate", now=later, location="puno")[0].startswith("No hay avisos")


def test_update_and_cancel_change_what_people_are_told(alerts, app, ask):
    cli(app, "import-alerts", DATA / "cap_heladas_update.xml")
    reply = ask("alerta en puno", "ask_climate", location="puno")[0]
    assert reply.startswith("AVISO ROJO: Heladas en Puno.") and "NARANJA" not in reply
    cli(app, "import-alerts", DATA / "cap_heladas_cancel.xml")
    assert ask("alerta en juliaca", "ask_climate", location="juliaca")[0].startswith("No hay avisos")


def test_without_region_asks_for_it_then_answers(alerts, ask):
    assert "1 Ancash" in ask("2")[0]
    assert ask("8")[0].startswith("AVISO NARANJA: Heladas en Puno.")


def test_unknown_place_asks_for_the_department(alerts, ask):
    reply = ask("alerta en tumbes", "ask_climate", location="tumbes")[0]
    assert reply.startswith("No conozco Tumbes.") and "8 Puno" in reply


def test_several_warnings_on_sms_one_at_a_time_all_on_whatsapp(alerts, app, ask, tmp_path):
    cli(app, "import-alerts", DATA / "cap_heladas_update.xml")  # rojo replaces naranja
    wind = tmp_path / "viento.xml"
    wind.write_text((DATA / "cap_heladas.xml").read_text(encoding="utf-8").replace(
        "TEST-HELADAS-1", "TEST-VIENTO-1").replace("<event>Heladas", "<event>Vientos fuertes").replace(
        "Naranja", "Amarillo"), encoding="utf-8")
    cli(app, "import-alerts", wind)
    sms = ask("alerta en puno", "ask_climate", location="puno")[0]
    assert sms.startswith("AVISO ROJO") and "+1 aviso(s) mas: responde MAS" in sms
    assert ask("mas")[0].startswith("AVISO AMARILLO: Vientos fuertes en Puno.")
    assert ask("mas")[0].startswith("No hay mas avisos vigentes para Puno.")
    whatsapp = ask("alerta en puno", "ask_climate", channel="whatsapp", phone="+51900000077",
                   location="puno")[0]
    assert "*AVISO ROJO: Heladas en Puno.*" in whatsapp and "AVISO AMARILLO: Vientos" in whatsapp
    assert "Zonas: Puno" in whatsapp and "Qué hacer:" in whatsapp


def test_long_instructions_are_shortened_to_fit_two_sms(app, ask, tmp_path):
    text = (DATA / "cap_heladas.xml").read_text(encoding="utf-8").replace(
        "Abrigue a niños y mayores y proteja a sus animales.", "Abrigue a su familia. " * 40)
    path = tmp_path / "long.xml"
    path.write_text(text, encoding="utf-8")
    cli(app, "import-alerts", path)
    reply = ask("alerta en puno", "ask_climate", location="puno")[0]
    assert segment_count(reply) == 2 and "familia..." in reply and "Fuente: PRUEBA" in reply


def test_avisame_records_alerts_for_the_hazard_and_region(alerts, ask, db):
    ask("hola", "greet")
    profile(db, "junin")
    ask("va a helar en puno", "ask_climate", hazard="helada", location="puno")
    assert ask("avisame")[0].startswith("Listo: te enviaremos alertas de heladas para Puno.")
    assert ask("avisenme de las heladas", "subscribe", hazard="helada")[0].startswith(
        "Listo: te enviaremos alertas de heladas para Junin.")
    with db.session() as s:
        rows = s.execute(select(Subscription.kind, Subscription.hazard, Subscription.region)
                         .order_by(Subscription.id)).all()
    assert rows == [("alerts", "helada", "puno"), ("alerts", "helada", "junin")]


def test_subscribing_without_consent_goes_through_onboarding(alerts, ask, db):
    assert "permiso" in ask("quiero alertas de granizo", "subscribe", hazard="granizo")[0]
    assert "idioma" in ask("1")[0].lower()
    assert "departamento" in ask("1")[0]
    assert ask("3")[0].startswith("Listo: te enviaremos alertas de granizo para Cusco.")
    with db.session() as s:
        sub = s.scalar(select(Subscription))
        assert (sub.kind, sub.hazard, sub.region) == ("alerts", "granizo", "cusco")
        assert s.scalar(select(Contact.region)) == "cusco"


def test_a_price_list_does_not_swallow_a_climate_question(alerts, app, ask):
    cli(app, "import-prices", DATA / "prices_good.csv")
    ask("1")
    assert ask("alerta en puno", "ask_climate", location="puno")[0].startswith("AVISO NARANJA")


def test_quechua_contact_gets_the_warning_in_quechua(alerts, ask, db):
    ask("hola", "greet")
    with db.session() as s:
        s.scalar(select(Contact)).language = "qu"
    reply = ask("alerta puno", "ask_climate", location="puno")[0]
    assert reply.startswith("WILLAKUY NARANJA: Heladas, Puno.") and "Ruway:" in reply


def test_demo_alerts_are_moved_to_the_day_they_are_loaded_under_the_same_identifier():
    xml = "<identifier>X</identifier><sent>2026-11-21T10:00:00-05:00</sent>"
    moved = alerts_for_today(xml, datetime(2027, 1, 5).date())
    assert moved == "<identifier>X</identifier><sent>2027-01-04T10:00:00-05:00</sent>"


def test_load_demo_gives_a_current_sample_warning(app, ask):
    cli(app, "load-demo")
    reply = ask("alerta puno", "ask_climate", now=utcnow(), location="puno")[0]
    assert reply.startswith("AVISO NARANJA: Heladas en Puno.") and "MUESTRA / sample data" in reply


def test_naming_a_hazard_after_a_price_answer_subscribes_to_that_hazard(alerts, app, ask, db):
    cli(app, "import-prices", DATA / "prices_good.csv")
    ask("hola", "greet")
    profile(db, "puno")
    ask("papa juliaca", "ask_price", product="papa", location="juliaca")
    assert "alertas de heladas para Puno" in ask("avisenme las heladas", "subscribe", hazard="helada")[0]
    with db.session() as s:
        assert s.execute(select(Subscription.kind, Subscription.hazard)).all() == [("alerts", "helada")]


def test_the_engine_never_records_a_subscription_without_consent(app, db):
    from bot.conversations.engine import Engine
    from flows.base import Effect, Result

    with db.session() as s:
        contact = Contact(phone=FAKE_PHONE, channels=[], profile={}, created_at=NOW)
        s.add(contact)
        s.flush()
        Engine._apply(s, contact, None, "sms", Result([], "x", effects=[Effect("subscribe", {
            "kind": "alerts", "hazard": "helada", "region": "puno"})]), NOW)
    with db.session() as s:
        assert s.scalar(select(Subscription)) is None

"""Technicians in headless Chromium: the unanswered inbox, an answer turned into a topic in the
editor, published by a second person and then answered by the bot; the market directory."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from bot.conversations.engine import Inbound
from bot.db import migrate
from bot.services import services
from flows import knowledge, markets
from models import Message, OutboxMessage, TopicVersion, UnansweredQuestion, User
from tests.conftest import make_app
from tests.console.conftest import live_server, _HASH, email_of
from tests.console.test_browser import CHROMIUM, browser, page, shot, sign_in  # noqa: F401

pytestmark = [pytest.mark.browser,
              pytest.mark.filterwarnings("error::sqlalchemy.exc.SAWarning")]
ASKED = {"+51900000081": "como cuido mis colmenas de abejas",
         "+51900000082": "mis abejas dejan la colmena",
         "+51900000083": "colmenas de abejas como las cuido",
         "+51900000084": "que hago con mi tractor malogrado"}
MARKETS = Path(__file__).resolve().parents[1] / "data" / "markets.yml"


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """Serve the app (SQLite) with two technicians' roles and four unanswered questions."""
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is missing: `make test` installs it (apt-get install chromium)")
    mp = pytest.MonkeyPatch()
    mp.setattr(markets, "MARKETS_FILE", MARKETS)
    tmp = tmp_path_factory.mktemp("browser-knowledge")
    url = f"sqlite:///{tmp / 'console.sqlite'}"
    migrate(url)
    app = make_app(url, NLU_DATA_DIR=str(tmp / "data"))
    engine = services(app).engine
    for phone, text in ASKED.items():
        engine.handle(Inbound(address=phone, body=text))
    with services(app).db.session() as s:
        for role in ("technician", "admin"):
            s.add(User(email=email_of(role), role=role, password_hash=_HASH, active=True, failed_logins=0))
        for message in s.scalars(select(Message).where(Message.direction == "in")):
            s.add(UnansweredQuestion(contact_id=message.contact_id, message_id=message.id,
                                     text=message.body, reason="unmatched", created_at=message.created_at))
    try:
        with live_server(app) as base:
            yield app, base
    finally:
        services(app).db.dispose()
        mp.undo()
        knowledge.install(None)


def test_an_answer_becomes_a_topic_that_a_second_person_publishes(live, browser):  # noqa: F811
    app, base = live
    tech = browser.new_context(viewport={"width": 1366, "height": 900}, locale="es-PE").new_page()
    sign_in(tech, base, "technician")
    tech.click("header a:has-text('Preguntas sin respuesta')")
    group = tech.locator("section.group").first
    assert "3 preguntas" in group.inner_text() and "3 personas" in group.inner_text()
    assert tech.locator("section.group").count() == 2
    shot(tech, "knowledge-01-inbox")
    answer = "Abejas: colmena a la sombra, con agua limpia cerca (respuesta de prueba del tecnico)."
    group.locator("textarea").fill(answer)
    group.locator("button:has-text('Responder a las personas')").click()
    tech.wait_for_selector(".flash:has-text('3 personas')")
    with services(app).db.session() as s:
        bodies = s.scalars(select(OutboxMessage.body).where(OutboxMessage.source == "handoff")).all()
        assert bodies == [answer] * 3
    group = tech.locator("section.group").first
    group.locator("textarea").fill(answer)
    group.locator("button:has-text('Convertir en tema')").click()
    tech.wait_for_selector("h1:has-text('Nuevo tema')")
    assert "como cuido mis colmenas de abejas" in tech.input_value("textarea[name=keywords]")
    tech.fill("input[name=topic_id]", "abejas_colmena")
    tech.fill("input[name=title]", "Cuidado de colmenas")
    tech.select_option("select[name=category]", "animales")
    tech.fill("textarea[name=sms]", "x" * 300)
    tech.fill("input[name=short_source]", "INIA 2020")
    tech.fill("input[name=source_0_title]", "Manual de apicultura (prueba)")
    tech.fill("input[name=source_0_publisher]", "INIA")
    tech.fill("input[name=source_0_year]", "2020")
    tech.fill("input[name=source_0_url]", "https://www.inia.gob.pe/prueba-apicultura")
    tech.click("button:has-text('Guardar borrador')")
    tech.wait_for_selector("#problems:has-text('segmentos')")
    assert "3 segmentos" in tech.inner_text("#sms-segments")
    tech.fill("textarea[name=sms]", answer)
    tech.click("button:has-text('Guardar borrador')")
    tech.wait_for_selector(".flash:has-text('Borrador abejas_colmena v1 guardado')")
    assert "Otra persona debe publicarlo" in tech.inner_text("#drafts")
    assert tech.locator("#drafts button:has-text('Publicar')").count() == 0  # four-eyes
    tech.goto(f"{base}/console/conocimiento/tema/abejas_colmena")
    shot(tech, "knowledge-02-editor")
    tech.goto(f"{base}/console/conocimiento")
    shot(tech, "knowledge-03-drafts")
    assert services(app).engine.handle(Inbound("+51900000085", ASKED["+51900000081"])).replies[0] != answer

    admin = browser.new_context(viewport={"width": 1366, "height": 900}, locale="es-PE").new_page()
    sign_in(admin, base, "admin")
    admin.goto(f"{base}/console/conocimiento")
    admin.click("#drafts button:has-text('Publicar')")
    admin.wait_for_selector(".flash:has-text('abejas_colmena v1 publicado')")
    reply = services(app).engine.handle(Inbound("+51900000086", ASKED["+51900000081"])).replies[0]
    assert reply.startswith("Abejas: colmena a la sombra"), reply
    with services(app).db.session() as s:
        version = s.scalar(select(TopicVersion).where(TopicVersion.topic_id == "abejas_colmena"))
        assert version.author_email == email_of("technician")
        assert version.published_by_email == email_of("admin")
        statuses = s.scalars(select(UnansweredQuestion.status).order_by(UnansweredQuestion.id)).all()
        assert statuses == ["topic", "topic", "topic", "open"]
    admin.goto(f"{base}/console/")
    assert "1" in admin.inner_text("#unanswered-weeks tbody tr:last-child td:nth-child(4)")
    admin.goto(f"{base}/console/conocimiento/abejas_colmena/historial")
    assert "publicada" in admin.inner_text("#history")
    admin.context.close()
    tech.context.close()


def test_the_market_directory_page_lists_each_entry_with_its_source(live, page):  # noqa: F811
    _, base = live
    sign_in(page, base, "technician")
    page.goto(f"{base}/console/conocimiento")
    page.click("a:has-text('Dónde vender (ferias)')")
    page.wait_for_selector("#markets")
    rows = page.locator("#markets tbody tr")
    assert rows.count() == 3
    assert "Biomercado de Prueba Puno" in page.inner_text("#markets")
    assert "Diario de prueba 2025" in page.inner_text("#markets")
    shot(page, "knowledge-04-directory")

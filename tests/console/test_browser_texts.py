"""Textos in headless Chromium: a translator saves a Quechua text, the next inbound SMS uses it."""
from __future__ import annotations


import pytest
from sqlalchemy import select

from bot.db import migrate
from bot.services import services
from bot.translations import store
from models import Contact, User
from tests.conftest import make_app
from tests.console.conftest import live_server, _HASH, email_of
from tests.console.test_browser import CHROMIUM, browser, page, shot, sign_in  # noqa: F401
from tests.fakes.signing import inbound_form, new_sid, post_signed

pytestmark = [pytest.mark.browser,
              pytest.mark.filterwarnings("error::sqlalchemy.exc.SAWarning")]
SHE = "+51900000051"  # FAKE test number
FAKE_QU = "PRUEBA-QU: ¿borramos? 1 Ari 2 Manam"  # a test string, not a translation


@pytest.fixture
def live(tmp_path):
    """Serve the app on a free port (SQLite) with a translator and a Quechua-speaking contact."""
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is missing: `make test` installs it (apt-get install chromium)")
    store.forget()
    url = f"sqlite:///{tmp_path / 'texts.sqlite'}"
    migrate(url)
    app = make_app(url)
    with services(app).db.session() as s:
        s.add(User(email=email_of("translator"), role="translator", password_hash=_HASH,
                   active=True, failed_logins=0))
        s.add(Contact(phone=SHE, channels=["sms"], language="qu", profile={}))
    try:
        with live_server(app) as base:
            yield app, base
    finally:
        services(app).db.dispose()
        store.forget()


def inbound(app, text: str) -> str:
    response = post_signed(app.test_client(), "/webhooks/twilio",
                           inbound_form(text, sid=new_sid(), phone=SHE))
    return response.get_data(as_text=True)


def test_a_saved_translation_answers_the_next_message(live, page):  # noqa: F811
    app, base = live
    assert "Borramos todos tus datos" in inbound(app, "BORRAR")  # Spanish until there is one
    inbound(app, "2")
    sign_in(page, base, "translator")
    page.click("header >> text=Textos")
    page.fill("input[name=q]", "erase_confirm")
    page.click("button:has-text('Filtrar')")
    cell = page.locator("#t-reply-erase_confirm- td[data-lang=qu]")
    assert "falta: sale en castellano" in cell.inner_text()
    shot(page, "texts-01-missing")
    cell.locator("textarea").fill(FAKE_QU)
    cell.locator("button:has-text('Guardar')").click()
    page.wait_for_selector("text=texto guardado (sin revisar)")
    cell = page.locator("#t-reply-erase_confirm- td[data-lang=qu]")
    assert "1 SMS" in cell.inner_text()
    shot(page, "texts-02-saved")
    assert FAKE_QU in inbound(app, "BORRAR")  # at once, without a restart
    cell.locator("input[name=checked]").check()
    cell.locator("button:has-text('Guardar')").click()
    page.wait_for_selector("text=revisado por hablante nativo")
    assert "revisado por translator@chaski.test" in page.locator(
        "#t-reply-erase_confirm- td[data-lang=qu]").inner_text()
    shot(page, "texts-03-checked")
    with services(app).db.session() as s:
        assert s.scalar(select(Contact.language).where(Contact.phone == SHE)) == "qu"

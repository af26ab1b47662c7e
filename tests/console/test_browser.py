"""The console in headless Chromium: sign in, find a conversation, correct an intent, export it."""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from bot.db import migrate
from bot.conversations.engine import Inbound
from bot.services import services
from models import AuditLog, Contact, HandoffRequest, User
from tests.conftest import OUTPUT_DIR, make_app
from tests.fakes.clock import without_faketime
from tests.console.conftest import _HASH, FARMER_PHONE, PASSWORD, VIOLENT_PHONE, email_of

pytestmark = [pytest.mark.browser,
              pytest.mark.filterwarnings("error::sqlalchemy.exc.SAWarning")]
CHROMIUM = Path("/usr/bin/chromium")
SHOTS = OUTPUT_DIR / "screenshots"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """Serve the app on a free port (SQLite), with staff and two conversations."""
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is missing: `make test` installs it (apt-get install chromium)")
    tmp = tmp_path_factory.mktemp("browser")
    url = f"sqlite:///{tmp / 'console.sqlite'}"
    migrate(url)
    app = make_app(url, NLU_DATA_DIR=str(tmp / "data"))
    engine = services(app).engine
    for phone, text in ((FARMER_PHONE, "hola"), (FARMER_PHONE, "a como sta el chuño en juliaca"),
                        (VIOLENT_PHONE, "me quiere matar"), (VIOLENT_PHONE, "3"),
                        ("+51900000013", "quiero hablar con alguien")):
        engine.handle(Inbound(address=phone, body=text))
    with services(app).db.session() as s:
        for role in ("reviewer", "counsellor", "admin"):
            s.add(User(email=email_of(role), role=role, password_hash=_HASH, active=True,
                       failed_logins=0))
        contact = s.scalar(select(Contact.id).where(Contact.phone == "+51900000013"))
        s.add(HandoffRequest(contact_id=contact, topic=None, urgent=False))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield app, f"http://127.0.0.1:{server.server_port}", tmp / "data"
    finally:
        server.shutdown()
        services(app).db.dispose()


@pytest.fixture(scope="module")
def browser():
    """Start Chromium; on the real clock in `make test-anyday` (it takes seconds a request under
    libfaketime): the app it talks to, which decides every date the pages show, stays shifted."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
                                      env=without_faketime(dict(os.environ)))
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser):
    """A tab; at the end, no page it opened may have hit the Content-Security-Policy."""
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="es-PE")
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    refused = []
    tab.on("console", lambda msg: refused.append(msg.text)
           if "Content Security Policy" in msg.text else None)
    yield tab
    context.close()
    assert refused == [], "the console's own pages broke its Content-Security-Policy"


def wait_styled_by_the_css(page) -> None:
    """Wait until console.css applies (the header's colour comes only from it; it may still be
    loading when the page's text is there); time out if the policy or anything refused it."""
    # Polled from here: wait_for_function with a string predicate re-evaluates it with eval()
    # inside the page once it has to wait, which the console's CSP (no 'unsafe-eval') forbids.
    deadline = time.monotonic() + 5.0
    while page.evaluate("() => getComputedStyle(document.querySelector('header')).backgroundColor")\
            != "rgb(122, 46, 29)":
        assert time.monotonic() < deadline, "console.css was not applied within 5 s"
        time.sleep(0.05)


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def sign_in(page, base: str, role: str) -> None:
    page.goto(f"{base}/console/")
    assert "/console/login" in page.url
    page.fill("#email", email_of(role))
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Entrar')")
    page.wait_for_selector("h1:has-text('Panel')")
    wait_styled_by_the_css(page)


def test_a_reviewer_finds_corrects_and_exports(live, page):
    app, base, data_dir = live
    page.goto(f"{base}/console/")
    shot(page, "01-login")
    sign_in(page, base, "reviewer")
    shot(page, "02-dashboard")

    page.click("header >> text=Conversaciones")
    page.fill("input[name=q]", "chuño")
    page.click("button:has-text('Filtrar')")
    row = page.locator("tr", has_text="a como sta el chuño en juliaca")
    assert row.count() == 1
    assert page.locator("text=" + FARMER_PHONE[:-4] + "****").count() >= 1  # masked for reviewers
    assert page.locator("text=redactado").count() == 0
    shot(page, "03-conversations-search")
    row.locator("a").first.click()
    page.wait_for_selector("h1:has-text('Conversación con')")
    assert FARMER_PHONE not in page.content()  # masked for reviewers
    shot(page, "04-thread")

    page.click("header >> text=Revisión")
    item = page.locator("tr", has_text="a como sta el chuño en juliaca")
    item.locator("select[name=intent]").select_option("ask_price")
    item.locator("input[name=entities]").fill("product=chuno, location=juliaca")
    item.locator("button:has-text('Guardar')").click()
    # The model was down: the lookup tables had guessed right, so the reviewer confirms it.
    page.wait_for_selector("text=Intención confirmada.")
    shot(page, "05-review-corrected")

    page.click("button:has-text('Exportar datos de entrenamiento')")
    page.wait_for_selector("text=Exportados 1 ejemplos")
    shot(page, "06-exported")
    text = (data_dir / "reviewed.yml").read_text(encoding="utf-8")
    assert ('- a como sta el [chuño]{"entity": "product", "value": "chuno"} en '
            '[juliaca](location)') in text

    with services(app).db.session() as s:
        violent = s.scalar(select(Contact.id).where(Contact.phone == VIOLENT_PHONE))
    page.goto(f"{base}/console/contactos/{violent}")
    assert page.locator("h1").inner_text() == "Error 404"
    shot(page, "07-reviewer-refused-restricted")
    page.click("button:has-text('Salir')")
    page.wait_for_selector("text=Sesión cerrada.")


def test_a_counsellor_opens_a_restricted_conversation_and_it_is_audited(live, page):
    app, base, _ = live
    sign_in(page, base, "counsellor")
    page.click("header >> text=Conversaciones")
    page.locator("tr", has_text="redactado").first.locator("a").first.click()
    page.wait_for_selector("text=queda registrada en la auditoría")
    shot(page, "08-counsellor-restricted-thread")
    page.click("header >> text=Derivaciones")
    assert page.locator("td:has-text('urgente')").count() == 1  # the support hand-off, first
    shot(page, "09-handoffs")
    with services(app).db.session() as s:
        actions = s.scalars(select(AuditLog.action).where(
            AuditLog.email == email_of("counsellor"))).all()
    assert "restricted_view" in actions and "login" in actions

    page.click("button:has-text('Salir')")
    sign_in(page, base, "admin")
    page.click("header >> text=Auditoría")
    assert page.locator("td:has-text('restricted_view')").count() >= 1
    shot(page, "10-audit-log")

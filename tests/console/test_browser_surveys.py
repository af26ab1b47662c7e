"""View survey results in headless Chromium: sign in as coordinator, see the chart, download CSV."""
from __future__ import annotations

import threading

import pytest
from werkzeug.serving import make_server

from bot.db import migrate
from bot.services import services
from models import User
from tests.conftest import make_app
from tests.console.conftest import _HASH, email_of
from tests.console.test_browser import CHROMIUM, browser, page, shot, sign_in  # noqa: F401
from tests.console.test_surveys import FARMERS, seed

pytestmark = [pytest.mark.browser,
              pytest.mark.filterwarnings("error::sqlalchemy.exc.SAWarning")]


@pytest.fixture(scope="module")
def live_surveys(tmp_path_factory):
    """Serve the app on a free port (SQLite) with a coordinator and an answered survey."""
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is missing: `make test` installs it (apt-get install chromium)")
    tmp = tmp_path_factory.mktemp("browser-surveys")
    url = f"sqlite:///{tmp / 'console.sqlite'}"
    migrate(url)
    app = make_app(url, NLU_DATA_DIR=str(tmp / "data"))
    survey_id = seed(app)
    with services(app).db.session() as s:
        s.add(User(email=email_of("coordinator"), role="coordinator", password_hash=_HASH,
                   active=True, failed_logins=0))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", survey_id
    finally:
        server.shutdown()
        services(app).db.dispose()


def test_a_coordinator_views_survey_results(live_surveys, page, tmp_path):
    base, survey_id = live_surveys
    sign_in(page, base, "coordinator")
    page.click("header >> text=Encuestas")
    page.wait_for_selector("h1:has-text('Encuestas')")
    row = page.locator("tr", has_text="Cosecha y prácticas 2026")
    assert row.count() == 1 and "2 (67 %)" in row.inner_text()
    shot(page, "11-surveys-list")
    row.locator("a").first.click()
    page.wait_for_selector("h1:has-text('Encuesta: Cosecha')")
    assert page.locator("#invitadas").inner_text() == "3"
    assert page.locator("#respondieron").inner_text() == "2"
    chart = page.locator("svg[aria-label^='Respuestas: ¿Qué cultivo']")
    assert chart.count() == 1 and chart.locator("rect").count() == 4
    assert chart.locator("title", has_text="Papa: 2").count() == 1
    shot(page, "12-survey-results")
    with page.expect_download() as info:
        page.click("text=Descargar CSV")
    target = tmp_path / "encuesta.csv"
    info.value.save_as(target)
    text = target.read_text(encoding="utf-8")
    assert text.startswith("participant_id,contact_id,phone")
    assert all(phone in text for phone in FARMERS) and ",120," in text

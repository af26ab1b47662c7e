"""A voice note in headless Chromium: the technician plays it from the queue; others cannot."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.db import migrate
from bot.services import services
from models import HandoffRequest, User
from tests.conftest import make_app
from tests.console.conftest import _HASH, email_of, live_server
from tests.console.test_browser import CHROMIUM, browser, page, shot, sign_in  # noqa: F401
from tests.fakes.twilio_media import OGG, FakeTwilioMedia
from tests.whatsapp_inbound.conftest import post_whatsapp, send_media

pytestmark = [pytest.mark.browser,
              pytest.mark.filterwarnings("error::sqlalchemy.exc.SAWarning")]
FARMER = "+51900000091"  # FAKE test number


@pytest.fixture
def live(tmp_path):
    """Serve the app (SQLite) with a technician and a reviewer; Twilio's media is the fake's."""
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is missing: `make test` installs it (apt-get install chromium)")
    media = FakeTwilioMedia().start()
    url = f"sqlite:///{tmp_path / 'media.sqlite'}"
    migrate(url)
    app = make_app(url, TWILIO_API_BASE_URL=media.base_url)
    with services(app).db.session() as s:
        for role in ("technician", "reviewer"):
            s.add(User(email=email_of(role), role=role, password_hash=_HASH, active=True,
                       failed_logins=0))
    try:
        with live_server(app) as base:
            yield app, base, media
    finally:
        services(app).db.dispose()
        media.stop()


def test_the_technician_plays_the_voice_note_and_a_reviewer_cannot(live, browser, page):  # noqa: F811
    app, base, media = live
    client = app.test_client()
    assert "No puedo escuchar audios" in send_media(client, FARMER, media.add("audio/ogg", OGG),
                                                   "audio/ogg")
    post_whatsapp(client, FARMER, "1")
    with services(app).db.session() as s:
        handoff_id = s.scalar(select(HandoffRequest.id).where(HandoffRequest.topic == "technician"))
    media_path = f"/console/derivaciones/{handoff_id}/medio/0"

    anonymous = browser.new_context()  # not signed in: the login page, no media
    tab = anonymous.new_page()
    tab.goto(base + media_path)
    assert "/console/login" in tab.url
    anonymous.close()
    assert media.total == 0

    sign_in(page, base, "technician")
    page.click("header >> text=Derivaciones")
    row = page.locator("tr", has_text="técnico (foto o audio)")
    audio = row.locator(f"audio[src='{media_path}']")
    assert audio.count() == 1
    with page.expect_response(lambda r: r.url.endswith(media_path)) as answer:
        audio.evaluate("a => { a.preload = 'auto'; a.load(); }")
    response = answer.value
    assert (response.status, response.headers["content-type"]) == (200, "audio/ogg")
    assert "no-store" in response.headers["cache-control"]
    assert response.body() == OGG
    assert media.total >= 1 and media.refused == 0  # fetched from "Twilio" with basic auth
    shot(page, "media-01-technician-queue")

    reviewer = browser.new_context()
    tab = reviewer.new_page()
    sign_in(tab, base, "reviewer")
    fetched = media.total
    assert tab.goto(base + media_path).status == 403
    assert tab.locator("header >> text=Derivaciones").count() == 0
    reviewer.close()
    assert media.total == fetched  # a refused view asks Twilio nothing

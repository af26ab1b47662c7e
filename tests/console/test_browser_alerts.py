"""A coordinator in headless Chromium: approve a pending alert from a manual feed (exactly the people
the preview counted are queued), cancel it after it went out, upload a CAP file and price bulletins."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from bot import clock
from bot.db import migrate
from bot.knowledge.feeds import add_feed, poll_all
from bot.knowledge.fetch import Fetcher
from bot.services import services
from models import Alert, AuditLog, OutboxMessage, PriceReport, User
from tests.conftest import make_app
from tests.console.conftest import live_server, _HASH, email_of
from tests.console.test_browser import CHROMIUM, browser, page, shot, sign_in  # noqa: F401
from tests.fakes.feed_server import FEEDS, FeedServer
from tests.fakes.outbox import add_contacts
from tests.fakes.topics import DATA, NOW

pytestmark = [pytest.mark.browser, pytest.mark.filterwarnings("error::sqlalchemy.exc.SAWarning")]


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """Serve the app (SQLite) with a coordinator, people in Puno and a manual feed already polled."""
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is missing: `make test` installs it (apt-get install chromium)")
    clock.set_now(NOW)
    tmp = tmp_path_factory.mktemp("browser-alerts")
    url = f"sqlite:///{tmp / 'console.sqlite'}"
    migrate(url)
    feeds = FeedServer().start()
    app = make_app(url, NLU_DATA_DIR=str(tmp / "data"))
    db = services(app).db
    with db.session() as s:
        s.add(User(email=email_of("coordinator"), role="coordinator", password_hash=_HASH,
                   active=True, failed_logins=0))
        add_contacts(s, 3, region="puno")
        add_contacts(s, 2, start=910_000_100, region="puno", channels=["whatsapp"],
                     last_whatsapp_inbound_at=NOW - timedelta(hours=2))
        add_contacts(s, 2, start=910_000_200, region="junin")
        add_feed(s, feeds.serve_file("/heladas.xml", "frost_red.xml"), "SENAMHI (prueba)", "manual")
    with db.session() as s:
        poll_all(s, NOW, Fetcher(read_timeout=2.0))
    try:
        with live_server(app) as base:
            yield app, base
    finally:
        feeds.stop()
        db.dispose()
        clock.reset()


def rows_by_channel(db, pattern: str) -> dict[str, int]:
    with db.session() as s:
        return dict(s.execute(select(OutboxMessage.channel, func.count()).where(
            OutboxMessage.key.like(pattern)).group_by(OutboxMessage.channel)).all())


def audited(db, action: str) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == action))


def test_approve_queues_exactly_the_preview_then_cancel_informs_those_sent(live, page):
    app, base = live
    db = services(app).db
    assert rows_by_channel(db, "alert:%") == {}  # manual feed: nothing queued before approval
    sign_in(page, base, "coordinator")
    page.click("header >> text=Alertas")
    row = page.locator("#alerts-pending tr", has_text="TEST-FEED-HELADA-1")
    assert "Rojo" in row.inner_text() and "Puno" in row.inner_text()
    preview = {"sms": int(row.locator(".reach-sms").inner_text()),
               "whatsapp": int(row.locator(".reach-whatsapp").inner_text())}
    assert preview == {"sms": 3, "whatsapp": 2}  # red: everyone in Puno, nobody in Junín
    assert page.locator("#alert-map path.lvl-rojo").count() == 1  # Puno, pending counts as current
    shot(page, "60-alerts-pending")
    page.locator("#alert-map").screenshot(path=str(_shots() / "61-alerts-map.png"))
    row.locator("button.approve").click()
    page.wait_for_selector(".flash.ok")
    assert "aprobado: 5 mensajes en cola" in page.inner_text(".flash.ok")
    assert rows_by_channel(db, "alert:TEST-FEED-HELADA-1:Alert:%") == preview
    assert audited(db, "alert_approve") == 1
    current = page.locator("#alerts-current tr", has_text="TEST-FEED-HELADA-1")
    assert re.search(r"3\s*SMS\s*·\s*2\s*WhatsApp", current.inner_text())
    shot(page, "62-alerts-approved")

    with db.session() as s:  # the sender delivered it to the three SMS contacts only
        s.execute(update(OutboxMessage).where(OutboxMessage.channel == "sms").values(status="sent"))
    current.locator("button.cancel").click()
    page.wait_for_selector(".flash.ok")
    assert "cancelado: 3 personas" in page.inner_text(".flash.ok")
    assert rows_by_channel(db, "alert:chaski-cancel-%") == {"sms": 3}
    with db.session() as s:
        assert s.scalar(select(Alert.state).where(Alert.identifier == "TEST-FEED-HELADA-1")) == "cancelled"
        bodies = s.scalars(select(OutboxMessage.body)
                           .where(OutboxMessage.key.like("alert:chaski-cancel-%"))).all()
        unsent = s.scalars(select(OutboxMessage.status).where(OutboxMessage.channel == "whatsapp")).all()
    assert all(b.startswith("CANCELADO") for b in bodies) and unsent == ["canceled", "canceled"]
    assert "TEST-FEED-HELADA-1" in page.inner_text("#alerts-expired")
    assert page.locator("#alert-map path.lvl-rojo").count() == 0
    shot(page, "63-alerts-cancelled")


def test_a_cap_file_upload_reports_like_import_alerts(live, page):
    app, base = live
    sign_in(page, base, "coordinator")
    page.goto(f"{base}/console/alertas")
    page.set_input_files("#alert-upload input[type=file]", str(FEEDS / "oasis_a2_thunderstorm.xml"))
    page.click("#alert-upload button")
    page.wait_for_selector(".flash.ok")
    assert "oasis_a2_thunderstorm.xml: imported 1, unchanged 0" in page.inner_text(".flash.ok")
    assert "pending review 1" in page.inner_text(".flash.ok")
    page.set_input_files("#alert-upload input[type=file]", str(DATA / "cap_malformed.xml"))
    page.click("#alert-upload button")
    page.wait_for_selector(".flash.error")
    assert "No se importó nada: cap_malformed.xml: malformed XML" in page.inner_text(".flash.error")
    assert audited(services(app).db, "alert_upload") == 1
    assert audited(services(app).db, "alert_upload_refused") == 1
    shot(page, "64-alerts-upload")


def test_price_bulletin_uploads_good_and_bad(live, page):
    app, base = live
    db = services(app).db
    sign_in(page, base, "coordinator")
    page.click("header >> text=Precios")
    page.set_input_files("#prices-upload input[type=file]", str(DATA / "prices_good.csv"))
    page.click("#prices-upload button")
    page.wait_for_selector("#report")
    with db.session() as s:
        stored = s.scalar(select(func.count()).select_from(PriceReport))
    assert stored > 0 and f"{stored} nuevos" in page.inner_text("#report")
    assert "PRUEBA / test data" in page.inner_text("#bulletins")
    shot(page, "65-prices-good")
    page.set_input_files("#prices-upload input[type=file]", str(DATA / "prices_bad_rows.csv"))
    page.click("#prices-upload button")
    page.wait_for_selector("#rejected")
    lines = [row.inner_text().split("\t", 1) for row in page.locator("#rejected tbody tr").all()]
    assert [int(n) for n, _ in lines] == [3, 4, 5, 6, 7, 8, 9, 10]  # as `import-prices` reports them
    assert dict(lines)["4"] == "unknown unit 'costal' (kg, saco, arroba, litro, unidad...)"
    assert "2 nuevos" in page.inner_text("#report") and "8 rechazados" in page.inner_text("#report")
    shot(page, "66-prices-bad-rows")
    page.set_input_files("#prices-upload input[type=file]", str(DATA / "prices_latin1.csv"))
    page.click("#prices-upload button")
    page.wait_for_selector(".flash.error")
    assert "not UTF-8" in page.inner_text(".flash.error")
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(PriceReport)) >= stored
    assert audited(db, "prices_upload") == 2 and audited(db, "prices_upload_refused") == 1


def _shots():
    from tests.console.test_browser import SHOTS
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS

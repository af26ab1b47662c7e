"""The list's filters and pages, the dashboard's figures and charts, the hand-off queue."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from models import Contact, HandoffRequest, Message, utcnow
from tests.console.conftest import FARMER_PHONE, VIOLENT_PHONE, csrf_token

# A query SQLAlchemy warns about (e.g. an accidental cartesian product) fails the test.
pytestmark = pytest.mark.filterwarnings("error::sqlalchemy.exc.SAWarning")


def seed(db, n: int, *, channel="sms", intent="ask_price", confidence=0.9, region="Puno",
         phone="+51900000020", days_ago=0, flow="menu", body="mensaje"):
    """Insert `n` inbound messages of one contact, one minute apart, newest last."""
    now = utcnow() - timedelta(days=days_ago)
    with db.session() as s:
        contact = s.scalar(select(Contact).where(Contact.phone == phone))
        if contact is None:
            contact = Contact(phone=phone, channels=[channel], profile={}, region=region,
                              last_inbound_at=now)
            s.add(contact)
            s.flush()
        s.add_all(Message(contact_id=contact.id, direction="in", channel=channel,
                          body=f"{body} {i:03d}", status="received", intent=intent,
                          confidence=confidence, entities={}, nlu_source="rasa", flow=flow,
                          created_at=now - timedelta(minutes=n - i)) for i in range(n))
        return contact.id


def bodies(html: str) -> list[str]:
    return re.findall(r'class="body">([^<]*)</td>', html)


def test_the_list_pages_newest_first_without_gaps_or_repeats(as_role, db):
    seed(db, 120)
    client = as_role("coordinator")
    seen, url = [], "/console/conversaciones?canal=sms"
    while url:
        html = client.get(url).get_data(as_text=True)
        seen += bodies(html)
        more = re.search(r'href="([^"]+)">Más antiguos', html)
        url = more.group(1).replace("&amp;", "&") if more else None
    assert len(seen) == 120 and len(set(seen)) == 120
    assert seen[0] == "mensaje 119" and seen[-1] == "mensaje 000"
    assert "120 mensajes" in client.get("/console/conversaciones").get_data(as_text=True)


def test_the_list_filters(as_role, db):
    seed(db, 3, channel="whatsapp", intent="ask_climate", confidence=0.3, region="Cusco",
         phone="+51900000021", body="wa")
    seed(db, 2, days_ago=10, body="viejo")
    seed(db, 2, flow="onboarding", body="onb", phone="+51900000022", region="Junín")
    client = as_role("reviewer")

    def found(query: str) -> set[str]:
        html = client.get(f"/console/conversaciones?{query}").get_data(as_text=True)
        return {b.split()[0] for b in bodies(html)}

    assert found("canal=whatsapp") == {"wa"}
    assert found("intencion=ask_climate") == {"wa"}
    assert found("conf_max=0.5") == {"wa"}
    assert found("conf_min=0.5") == {"viejo", "onb"}
    assert found("region=Cusco") == {"wa"}
    assert found("region=Jun%C3%ADn") == {"onb"}
    assert found("flujo=onboarding") == {"onb"}
    assert found("q=VIEJO") == {"viejo"}
    today = utcnow().date()
    assert "viejo" not in found(f"desde={today - timedelta(days=2)}")
    assert found(f"hasta={today - timedelta(days=5)}") == {"viejo"}
    assert found("intencion=not-an-intent&canal=fax&conf_min=x") == {"wa", "viejo", "onb"}


def test_the_dashboard_draws_charts_of_the_period(as_role, db, talk):
    seed(db, 4, channel="whatsapp", intent="ask_climate", region="Cusco", phone="+51900000021")
    seed(db, 2, channel="sms", intent="out_of_scope", confidence=0.1, region="Puno")
    seed(db, 5, days_ago=40, body="viejo", phone="+51900000023")
    talk("BAJA", phone="+51900000024")
    html = as_role("reviewer").get("/console/").get_data(as_text=True)
    assert html.count("<svg") == 3
    assert re.search(r'<div class="n">7</div>mensajes recibidos', html)  # 4 + 2 + BAJA
    assert re.search(r'<div class="n">33 %</div>no entendidos', html)  # 2 of 6 through the model
    assert re.search(r'<div class="n">1</div>bajas', html)
    assert "<title>ask_climate: 4</title>" in html and "<title>Cusco: 1</title>" in html
    day = utcnow().astimezone(__import__("bot.console", fromlist=["LIMA"]).LIMA)
    assert f"<title>{day.strftime('%d/%m')}: 3 SMS, 4 WhatsApp</title>" in html
    html90 = as_role("reviewer").get("/console/?dias=90").get_data(as_text=True)
    assert re.search(r'<div class="n">12</div>mensajes recibidos', html90)


def test_handoffs_urgent_first_and_violence_only_for_counsellors(as_role, db, talk,
                                                                 conversations):
    farmer, violent = conversations[FARMER_PHONE], conversations[VIOLENT_PHONE]
    now = utcnow()
    with db.session() as s:
        s.add_all([
            HandoffRequest(contact_id=farmer, topic=None, urgent=False,
                           created_at=now - timedelta(hours=2)),
            HandoffRequest(contact_id=violent, topic="support", urgent=True, created_at=now),
            HandoffRequest(contact_id=seed(db, 1, phone="+51900000025"), topic="prices",
                           urgent=True, created_at=now - timedelta(hours=1)),
        ])
    counsellor = as_role("counsellor").get("/console/derivaciones").get_data(as_text=True)
    topics = re.findall(r"<td>(support|prices|general)</td>", counsellor)
    assert topics == ["prices", "support", "general"]  # urgent first, then oldest first
    coordinator = as_role("coordinator")
    assert re.findall(r"<td>(support|prices|general)</td>",
                      coordinator.get("/console/derivaciones").get_data(as_text=True)) == [
        "prices", "general"]
    with db.session() as s:
        support_id = s.scalar(select(HandoffRequest.id).where(HandoffRequest.topic == "support"))
        general_id = s.scalar(select(HandoffRequest.id).where(HandoffRequest.topic.is_(None)))
    token = csrf_token(coordinator, "/console/derivaciones")
    assert coordinator.post(f"/console/derivaciones/{support_id}/close",
                            data={"csrf_token": token}).status_code == 404
    coordinator.post(f"/console/derivaciones/{general_id}/take", data={"csrf_token": token})
    coordinator.post(f"/console/derivaciones/{general_id}/close", data={"csrf_token": token})
    with db.session() as s:
        closed = s.get(HandoffRequest, general_id)
        assert closed.status == "closed" and closed.closed_at is not None
        assert s.get(HandoffRequest, support_id).status == "open"
    again = coordinator.post(f"/console/derivaciones/{general_id}/close",
                             data={"csrf_token": token}, follow_redirects=True)
    assert "ya cambió de estado" in again.get_data(as_text=True)


def test_the_demo_database_says_so_on_the_console_pages(as_role, console_app, db):
    from models import DatabaseMark

    client = as_role("coordinator")
    banner = "Base de datos de demostración"
    assert banner not in client.get("/console/").get_data(as_text=True)
    with db.session() as s:
        s.add(DatabaseMark(name="demo", value="load-demo"))
    for path in ("/console/", "/console/campanas", "/console/conversaciones"):
        assert banner in client.get(path).get_data(as_text=True), path
    assert banner in console_app.test_client().get("/console/login").get_data(as_text=True)


def test_the_dashboard_shows_the_system_health(as_role, db):
    from datetime import timedelta

    from models import Contact, OutboxMessage, utcnow
    from models.heartbeats import SENDER, beat

    client = as_role("coordinator")
    html = client.get("/console/").get_data(as_text=True)
    health = html.split("Salud del sistema")[1].split("</table>")[0]
    assert health.count("sin señal") == 2 and "nunca visto" in health  # nothing has run yet
    assert "caída: solo menús" in health  # the test app's NLU URL is a closed port
    assert "ninguno atrasado" in health and "ninguna" in health
    now = utcnow()
    with db.session() as s:
        beat(s, SENDER, now)
        contact = Contact(phone="+51900000091", channels=["sms"], language="es", profile={})
        s.add(contact)
        s.flush()
        s.add(OutboxMessage(key="t:1", source="broadcast", contact_id=contact.id, channel="sms", body="x",
                            status="queued", next_attempt_at=now - timedelta(minutes=12)))
    health = client.get("/console/").get_data(as_text=True).split("Salud del sistema")[1]
    health = health.split("</table>")[0]
    assert health.count("sin señal") == 1 and ">activo<" in health  # the sender beats, not the scheduler
    assert "el más antiguo espera 12 min" in health

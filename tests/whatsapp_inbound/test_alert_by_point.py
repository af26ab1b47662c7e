"""CAP polygons and circles reach located contacts, also when the alert names no region."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from bot.knowledge.alerts import import_alerts
from models import Alert, OutboxMessage, Subscription
from tests.whatsapp_inbound.conftest import HUANCAVELICA, JAUJA, contact, post_whatsapp, share_location

NOW = datetime(2026, 11, 21, 16, 0, tzinfo=timezone.utc)  # the alerts below hold until the 24th
INSIDE, OUTSIDE, BY_REGION = "+51900000071", "+51900000072", "+51900000073"  # FAKE numbers
# Around Jauja's valley only (lat,lon pairs, CAP order); Huancayo and Huancavelica lie outside.
VALLEY = "-11.60,-75.70 -11.60,-75.35 -11.90,-75.35 -11.90,-75.70 -11.60,-75.70"


def cap(identifier: str, area: str, level: str = "Naranja") -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<!-- TEST DATA (invented) -->
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>{identifier}</identifier><sender>test@chaski.invalid</sender>
  <sent>2026-11-21T10:00:00-05:00</sent><status>Actual</status><msgType>Alert</msgType>
  <scope>Public</scope>
  <info><language>es-PE</language><category>Met</category><event>Heladas</event>
    <urgency>Expected</urgency><severity>Severe</severity><certainty>Likely</certainty>
    <onset>2026-11-21T18:00:00-05:00</onset><expires>2026-11-24T08:00:00-05:00</expires>
    <senderName>PRUEBA / test data</senderName><headline>PRUEBA: heladas</headline>
    <instruction>Proteja a sus animales.</instruction>
    <parameter><valueName>nivel</valueName><value>{level}</value></parameter>
    <area><areaDesc>Zona delimitada</areaDesc>{area}</area>
  </info>
</alert>"""


@pytest.fixture
def located(client, db):
    """Three subscribed contacts: two who shared a location (in and out of VALLEY), one by region."""
    for phone, point in ((INSIDE, JAUJA), (OUTSIDE, HUANCAVELICA)):
        share_location(client, phone, point)
        post_whatsapp(client, phone, "1")  # consent: region, province and point saved
    post_whatsapp(client, BY_REGION, "quiero recibir avisos")
    for answer in ("1", "1", "5"):  # consent, Spanish, Junín (typed, no location)
        post_whatsapp(client, BY_REGION, answer)
    ids = {}
    with db.session() as s:
        for phone in (INSIDE, OUTSIDE, BY_REGION):
            she = contact(db, phone)
            ids[phone] = she.id
            assert she.region == ("huancavelica" if phone == OUTSIDE else "junin")
            s.add(Subscription(contact_id=she.id, kind="alerts", hazard="", region=she.region))
    assert contact(db, BY_REGION).latitude is None
    return ids


def push(db, tmp_path, xml: str):
    path = tmp_path / "alert.xml"
    path.write_text(xml, encoding="utf-8")
    with db.session() as s:
        result = import_alerts(s, path, NOW)
    with db.session() as s:
        return result, s.execute(select(OutboxMessage.contact_id, OutboxMessage.body)
                                 .order_by(OutboxMessage.id)).all()


def test_a_polygon_only_alert_reaches_the_located_contact_inside_and_no_one_else(db, tmp_path,
                                                                                  located):
    result, rows = push(db, tmp_path, cap("TEST-POLY-1", f"<polygon>{VALLEY}</polygon>"))
    with db.session() as s:
        assert s.scalar(select(Alert.review)) != "pending"  # a polygon near us is a place
    assert (result.pushes, [r.contact_id for r in rows]) == (1, [located[INSIDE]])
    assert rows[0].body.startswith("AVISO NARANJA: Heladas en Junín.")


def test_a_circle_counts_and_a_region_match_is_not_pushed_twice(db, tmp_path, located):
    area = ("<circle>-11.776,-75.499 15</circle>"
            "<geocode><valueName>UBIGEO</valueName><value>12</value></geocode>")
    result, rows = push(db, tmp_path, cap("TEST-CIRCLE-1", area))
    # by region: the Junín subscribers (INSIDE also by point, once); OUTSIDE is in Huancavelica
    assert sorted(r.contact_id for r in rows) == sorted([located[INSIDE], located[BY_REGION]])
    assert result.pushes == 2


def test_a_red_polygon_reaches_a_located_contact_without_a_subscription(client, db, tmp_path):
    share_location(client, INSIDE, JAUJA)
    post_whatsapp(client, INSIDE, "1")
    share_location(client, OUTSIDE, HUANCAVELICA)
    post_whatsapp(client, OUTSIDE, "1")
    _result, rows = push(db, tmp_path, cap("TEST-POLY-RED", f"<polygon>{VALLEY}</polygon>", "Rojo"))
    assert [r.contact_id for r in rows] == [contact(db, INSIDE).id]


def test_a_polygon_far_from_peru_still_waits_for_a_coordinator(db, tmp_path, located):
    far = "<polygon>38.47,-120.14 38.34,-119.95 38.52,-119.74 38.47,-120.14</polygon>"
    result, rows = push(db, tmp_path, cap("TEST-FAR", far))
    assert (result.pending, rows) == (1, [])

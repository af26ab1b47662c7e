"""Broadcast segments by interest: `crop` and `subscription`, in SQL on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.proactive import broadcasts
from models import Broadcast, OutboxMessage, Subscription
from tests.fakes.outbox import NOON, add_contacts
from tests.fakes.outbox import app, db  # noqa: F401 - fixtures


def farmers(db) -> dict:
    """Create contacts with crops and subscriptions; return their ids by what they have."""
    with db.session() as s:
        papa_sub, papa_profile, quinua, calendar, lapsed, stopped, nothing = add_contacts(s, 7)
        papa_profile.profile = {"crops": ["maiz", "papa"]}
        quinua.profile = {"crops": ["quinua"], "dates": {"papa": "2026-10-01"}}  # not a crop: a date
        stopped.opted_out_at = NOON
        s.add_all([
            Subscription(contact_id=papa_sub.id, kind="prices", product="papa", region="junin"),
            Subscription(contact_id=quinua.id, kind="alerts", hazard="helada", region="puno"),
            Subscription(contact_id=calendar.id, kind="calendar"),
            Subscription(contact_id=lapsed.id, kind="prices", product="papa", status="cancelled"),
            Subscription(contact_id=stopped.id, kind="prices", product="papa"),
        ])
        return {"papa_sub": papa_sub.id, "papa_profile": papa_profile.id, "quinua": quinua.id,
                "calendar": calendar.id, "lapsed": lapsed.id, "nothing": nothing.id}


def audience(db, segment) -> list[int]:
    with db.session() as s:
        b = broadcasts.create(s, name="t", texts={"es": "Hola"}, segment=segment, now=NOON)
        return [row[0] for row in broadcasts.audience(s, b, NOON)]


def test_crop_matches_price_subscribers_and_declared_crops(app, db):
    ids = farmers(db)
    assert audience(db, {"crop": ["papa"]}) == [ids["papa_sub"], ids["papa_profile"]]
    assert audience(db, {"crop": ["Quinua", "maiz"]}) == [ids["papa_profile"], ids["quinua"]]
    assert audience(db, {"crop": ["pa"]}) == []  # a whole product name, not a piece of one


def test_subscription_kind_and_combinations(app, db):
    ids = farmers(db)
    assert audience(db, {"subscription": ["calendar"]}) == [ids["calendar"]]
    assert audience(db, {"subscription": ["prices", "alerts"]}) == [ids["papa_sub"], ids["quinua"]]
    assert audience(db, {"subscription": ["alerts"], "crop": ["quinua"]}) == [ids["quinua"]]
    with pytest.raises(broadcasts.BroadcastError, match="subscription must be one of"):
        audience(db, {"subscription": ["news"]})


def test_rows_are_built_in_sql_for_the_segment(app, db):
    ids = farmers(db)
    with db.session() as s:
        b = broadcasts.create(s, name="t", texts={"es": "Precio de la papa"}, now=NOON,
                              segment={"crop": "papa"})
        assert broadcasts.run(s, broadcasts.schedule(s, b, NOON), NOON)["queued"] == 2
    with db.session() as s:
        assert sorted(s.scalars(select(OutboxMessage.contact_id))) == [ids["papa_sub"],
                                                                       ids["papa_profile"]]


def test_cli_create_with_crop_and_subscription(app, db):
    ids = farmers(db)
    run = app.test_cli_runner().invoke
    created = run(args=["broadcast", "create", "--name", "papa", "--text", "es=Papa: S/ 1.20",
                        "--crop", "papa", "--subscription", "prices"])
    assert created.exit_code == 0, created.output
    b_id = int(created.output.split()[1])
    with db.session() as s:
        assert s.get(Broadcast, b_id).segment == {"crop": ["papa"], "subscription": ["prices"]}
    assert "recipients: 1 " in run(args=["broadcast", "preview", str(b_id)]).output
    bad = run(args=["broadcast", "create", "--name", "x", "--text", "es=x", "--subscription", "news"])
    assert bad.exit_code == 2
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Broadcast)) == 1
    assert ids

"""`import-alerts`: CAP 1.2 files and feeds, superseding, bad files, region mapping."""
from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select

from bot.conversations.facts import Facts
from flows.places import region_of_ubigeo, regions_of_area
from models import Alert, AlertArea, AlertInfo
from tests.fakes.topics import DATA, NOW, cli


def count(db, model):
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(model))


def active(db, region=None, hazard=None, now=NOW):
    with db.session() as s:
        return Facts(s, now).active_alerts(region, hazard)


def test_one_alert_is_stored_with_its_info_parameters_and_areas(app, db):
    result = cli(app, "import-alerts", DATA / "cap_heladas.xml")
    assert result.exit_code == 0 and "imported 1, unchanged 0" in result.output
    with db.session() as s:
        alert = s.scalar(select(Alert))
        assert (alert.identifier, alert.sender, alert.status, alert.msg_type, alert.state) == (
            "TEST-HELADAS-1", "test@chaski.invalid", "Actual", "Alert", "current")
        assert alert.sent == datetime(2026, 11, 21, 15, 0, tzinfo=timezone.utc)
        info = alert.infos[0]
        assert (info.language, info.event, info.urgency, info.severity, info.certainty) == (
            "es-PE", "Heladas", "Expected", "Severe", "Likely")
        assert info.parameters == {"nivel": "Naranja"} and info.level == "naranja"
        assert info.hazards == ["helada"]
        assert info.expires == datetime(2026, 11, 24, 13, 0, tzinfo=timezone.utc) == info.ends_at
        area = info.areas[0]
        assert area.geocodes == [["UBIGEO", "210101"], ["UBIGEO", "2105"]]
        assert area.polygons[0].startswith("-15.0,-70.5") and area.regions == ["puno"]
    again = cli(app, "import-alerts", DATA / "cap_heladas.xml")
    assert "imported 0, unchanged 1" in again.output and count(db, Alert) == 1


def test_update_supersedes_and_cancel_ends_the_warning(app, db):
    cli(app, "import-alerts", DATA / "cap_heladas.xml")
    assert [a.level for a in active(db, "puno")] == ["naranja"]
    assert "superseded 1" in cli(app, "import-alerts", DATA / "cap_heladas_update.xml").output
    shown = active(db, "puno", "helada")
    assert [(a.identifier, a.level) for a in shown] == [("TEST-HELADAS-2", "rojo")]
    assert "cancelled 1" in cli(app, "import-alerts", DATA / "cap_heladas_cancel.xml").output
    assert active(db, "puno") == []
    with db.session() as s:
        states = dict(s.execute(select(Alert.identifier, Alert.state)).all())
    assert states == {"TEST-HELADAS-1": "superseded", "TEST-HELADAS-2": "cancelled",
                      "TEST-HELADAS-3": "current"}


def test_an_update_imported_before_its_alert_still_wins(app, db):
    cli(app, "import-alerts", DATA / "cap_heladas_update.xml")
    cli(app, "import-alerts", DATA / "cap_heladas.xml")
    assert [a.identifier for a in active(db, "puno")] == ["TEST-HELADAS-2"]


def test_restricted_alerts_are_not_shown_to_the_public(app, db, tmp_path):
    restricted = tmp_path / "restricted.xml"
    restricted.write_text((DATA / "cap_heladas.xml").read_text(encoding="utf-8").replace(
        "<scope>Public</scope>", "<scope>Restricted</scope>"), encoding="utf-8")
    cli(app, "import-alerts", restricted)
    assert count(db, Alert) == 1 and active(db, "puno") == []


def test_rss_feed_expired_and_exercise_alerts_are_never_shown(app, db):
    result = cli(app, "import-alerts", DATA / "cap_feed.rss")
    assert "imported 3" in result.output
    assert active(db, "ancash") == []  # expired on 12/11
    assert active(db, "ancash", now=datetime(2026, 11, 11, tzinfo=timezone.utc))  # was valid then
    cusco = active(db, "cusco")
    assert [a.identifier for a in cusco] == ["TEST-GRANIZO-1"]  # the Exercise is not shown
    assert cusco[0].hazards == ("lluvia", "granizo")
    # no <expires>: shown for 24 h from its onset, then never again
    assert active(db, "cusco", now=datetime(2026, 11, 23, 18, 0, tzinfo=timezone.utc)) == []


@pytest.mark.parametrize("name, message", [
    ("cap_malformed.xml", "malformed XML (unclosed token: line 23"),
    ("cap_xxe.xml", "DTDs and entities are not allowed"),
    ("prices_good.csv", "malformed XML"),
    ("missing.xml", "no such file"),
])
def test_bad_files_are_refused_and_nothing_is_written(app, db, name, message):
    result = cli(app, "import-alerts", DATA / name)
    assert result.exit_code == 1 and message in result.output
    assert count(db, Alert) == 0 and count(db, AlertInfo) == 0 and count(db, AlertArea) == 0


def test_one_bad_alert_in_a_feed_writes_none_of_them(app, db, tmp_path):
    good = (DATA / "cap_heladas.xml").read_text(encoding="utf-8").split("?>", 1)[1]
    bad = good.replace("TEST-HELADAS-1", "TEST-BAD").replace("<urgency>Expected", "<urgency>Soon")
    feed = tmp_path / "feed.xml"
    feed.write_text(f'<feed xmlns="http://www.w3.org/2005/Atom"><entry>{good}</entry>'
                    f"<entry>{bad}</entry></feed>", encoding="utf-8")
    result = cli(app, "import-alerts", feed)
    assert result.exit_code == 1 and "alert 2 (TEST-BAD): <urgency> 'Soon'" in result.output
    assert count(db, Alert) == 0


def test_a_feed_without_cap_alerts_is_refused(app, db, tmp_path):
    feed = tmp_path / "empty.xml"
    feed.write_text('<feed xmlns="http://www.w3.org/2005/Atom"><entry><alert>x</alert></entry></feed>')
    result = cli(app, "import-alerts", feed)
    assert result.exit_code == 1
    assert "no <alert> in namespace urn:oasis:names:tc:emergency:cap:1.2" in result.output


@pytest.mark.parametrize("code, region", [("02", "ancash"), ("0401", "arequipa"), ("080101", "cusco"),
                                          ("0903", "huancavelica"), ("120101", "junin"), ("1501", "lima"),
                                          ("2001", "piura"), ("210501", "puno"), ("130101", None),
                                          ("", None)])
def test_ubigeo_department_codes_map_to_the_program_regions(code, region):
    assert region_of_ubigeo(code) == region


def test_areas_map_by_geocode_first_then_by_name():
    assert regions_of_area("Sierra de Puno", [("UBIGEO", "1301")]) == []  # La Libertad, by code
    assert regions_of_area("Provincias de Canchis y Huancayo", []) == ["cusco", "junin"]
    assert regions_of_area("Costa norte", []) == []

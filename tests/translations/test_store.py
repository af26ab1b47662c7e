"""Saved texts: checks, the native-speaker tick, the version counter, CSV; SQLite and PostgreSQL."""
from __future__ import annotations

import csv
import io

from sqlalchemy import insert, select, update

from bot.translations import csvio, store
from flows.catalog import t
from models import Contact, TextOverride, TextsVersion, utcnow
from tests.fakes.signing import FAKE_PHONE
from tests.privacy.helpers import say

FAKE_QU = "PRUEBA-QU: ¿borramos? 1 Si 2 No"  # a test string, not a translation


def as_csv(lines) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(lines)
    return out.getvalue().encode()


def row(session, key, fld="", kind="reply"):
    return store.find(session, kind, key, fld)


def test_every_reply_key_and_topic_answer_is_a_row(db):
    with db.session() as s:
        rows = store.rows(s)
    keys = {(r.kind, r.key, r.field) for r in rows}
    assert ("reply", "erase_confirm", "") in keys and ("topic", "biol", "sms") in keys
    assert ("topic", "biol", "part1") in keys and ("topic", "biol", "part2") in keys
    assert not any(k.startswith("_") for _kind, k, _f in keys)


def test_placeholders_must_match_the_spanish(db):
    with db.session() as s:
        r = row(s, "subscribed")
        for bad, message in (("{what} para ti", "faltan {region}"),
                             ("{what} {region} {nombre}", "sobran {nombre}")):
            try:
                store.save(s, r, "qu", bad, False, "t@x", utcnow())
            except store.TextError as exc:
                assert message in str(exc)
            else:
                raise AssertionError(f"{bad!r} was saved")
        assert store.save(s, r, "qu", "PRUEBA {what} {region}", False, "t@x", utcnow()) == "edited"


def test_a_topic_sms_answer_keeps_to_two_segments(db):
    with db.session() as s:
        try:
            store.save(s, row(s, "biol", "sms", "topic"), "qu", "á" * 320, False, "t@x", utcnow())
        except store.TextError as exc:
            assert "2 SMS" in str(exc)
        else:
            raise AssertionError("a 3-segment topic answer was saved")


def test_the_tick_records_who_and_when_and_an_edit_clears_it(db):
    with db.session() as s:
        store.save(s, row(s, "erase_kept"), "ay", "PRUEBA-AY", True, "hablante@x", utcnow())
    with db.session() as s:
        r = row(s, "erase_kept")
        assert r.checked("ay") and r.overrides["ay"].checked_by == "hablante@x"
        assert not r.changed_since_checked("ay")
        store.save(s, r, "ay", "PRUEBA-AY 2", True, "otra@x", utcnow())  # edit + tick: re-checked
        assert r.overrides["ay"].checked_by == "otra@x"
        store.save(s, r, "ay", "PRUEBA-AY 3", False, "otra@x", utcnow())
        assert not row(s, "erase_kept").checked("ay")
        o = s.scalar(select(TextOverride).where(TextOverride.key == "erase_kept"))
        o.checked_at, o.checked_by, o.es_hash = utcnow(), "h@x", store.es_hash("otro castellano")
    with db.session() as s:
        assert row(s, "erase_kept").changed_since_checked("ay")


def test_spanish_is_not_edited(db):
    with db.session() as s:
        try:
            store.save(s, row(s, "consent_ask"), "es", "otro permiso", False, "t@x", utcnow())
        except store.TextError as exc:
            assert "castellano" in str(exc)
        else:
            raise AssertionError("the Spanish consent text was changed")


def test_another_workers_save_is_used_at_the_next_message(client, db):
    """A row and a counter bump written straight to the database, as another process would."""
    say(client, "hola")
    with db.session() as s:
        s.scalar(select(Contact).where(Contact.phone == FAKE_PHONE)).language = "qu"
    assert "Borramos" in say(client, "BORRAR")  # no Quechua text yet: Spanish, for this text
    say(client, "2")
    with db.engine.begin() as conn:
        conn.execute(insert(TextOverride).values(kind="reply", key="erase_confirm", field="",
                                                 lang="qu", text=FAKE_QU, updated_at=utcnow()))
        if conn.execute(update(TextsVersion).values(version=TextsVersion.version + 1)).rowcount == 0:
            conn.execute(insert(TextsVersion).values(id=1, version=1))
    assert say(client, "BORRAR") == FAKE_QU  # at once: no restart
    assert "no borramos" in say(client, "2")  # erase_kept has no qu text: Spanish, per text
    assert t("erase_confirm", "es").startswith("¿Borramos")


def test_csv_upload_reports_by_line_and_writes_nothing_on_a_problem(db):
    with db.session() as s:
        table = csvio.table(s)
    good = next(r for r in table if r[1] == "erase_kept")
    bad_ph = next(r for r in table if r[1] == "subscribed")
    lines = [csvio.HEADER, [*good[:4], "PRUEBA-QU", "", "no", "no"],
             ["reply", "no_existe", "", "x", "PRUEBA", "", "no", "no"],
             [*bad_ph[:4], "PRUEBA sin marcadores", *bad_ph[5:]]]
    with db.session() as s:
        saved, problems = csvio.upload(s, as_csv(lines), "t@x", utcnow())
    assert saved == 0 and len(problems) == 2
    assert problems[0].startswith("línea 3: texto desconocido")
    assert problems[1].startswith("línea 4 (qu, subscribed)") and "{what}" in problems[1]
    with db.session() as s:
        assert s.scalar(select(TextOverride)) is None
        saved, problems = csvio.upload(s, as_csv(lines[:2]), "t@x", utcnow())
    assert (saved, problems) == (1, [])
    with db.session() as s:
        assert row(s, "erase_kept").texts["qu"] == "PRUEBA-QU"

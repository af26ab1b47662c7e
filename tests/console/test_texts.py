"""Textos through Flask: roles, filters, an edit with CSRF and audit, the tick, CSV round trip."""
from __future__ import annotations

from io import BytesIO

import pytest
from sqlalchemy import select

from bot.translations import store
from models import AuditLog, TextOverride
from tests.console.conftest import csrf_token

pytestmark = pytest.mark.filterwarnings("error::sqlalchemy.exc.SAWarning")


@pytest.fixture(autouse=True)
def _forget_saved_texts():
    store.forget()
    yield
    store.forget()


def save(client, key, lang, text, checked=False, kind="reply", field=""):
    data = {"csrf_token": csrf_token(client, "/console/textos?q=" + key), "kind": kind,
            "key": key, "field": field, "lang": lang, "text": text}
    if checked:
        data["checked"] = "1"
    return client.post("/console/textos/guardar", data=data, follow_redirects=True)


def test_translator_and_admin_only(as_role):
    assert as_role("translator").get("/console/textos").status_code == 200
    assert as_role("admin").get("/console/textos").status_code == 200
    for role in ("coordinator", "reviewer", "counsellor"):
        assert as_role(role).get("/console/textos").status_code == 403


def test_rows_show_the_gsm7_sms_and_filters_work(as_role):
    client = as_role("translator")
    html = client.get("/console/textos?q=erase_confirm").get_data(as_text=True)
    assert "Borramos todos tus datos" in html and "falta: sale en castellano" in html
    missing = client.get("/console/textos?falta=qu&tipo=topic").get_data(as_text=True)
    assert "biol" in missing and "part1" in missing
    assert "<code>menu</code>" not in client.get("/console/textos?falta=qu").get_data(as_text=True)


def test_an_edit_is_saved_audited_and_ticked(as_role, db):
    client = as_role("translator")
    html = save(client, "erase_kept", "qu", "PRUEBA-QU {nombre}").get_data(as_text=True)
    assert "no se guardó" in html and "sobran {nombre}" in html
    html = save(client, "erase_kept", "qu", "PRUEBA-QU", checked=True).get_data(as_text=True)
    assert "revisado por translator@chaski.test" in html
    html = save(client, "erase_kept", "qu", "PRUEBA-QU 2").get_data(as_text=True)
    assert "sin revisar" in html
    with db.session() as s:
        o = s.scalar(select(TextOverride))
        assert (o.text, o.checked_at, o.updated_by) == ("PRUEBA-QU 2", None,
                                                        "translator@chaski.test")
        assert s.scalars(select(AuditLog.target).where(AuditLog.action == "text_edit")).all() == [
            "reply:erase_kept::qu", "reply:erase_kept::qu"]
    assert client.post("/console/textos/guardar", data={"key": "erase_kept"}).status_code == 400


def test_csv_download_and_upload_with_a_report(as_role, db):
    client = as_role("translator")
    download = client.get("/console/textos.csv")
    assert download.mimetype == "text/csv"
    text = download.get_data().decode("utf-8-sig")
    assert text.splitlines()[0] == "tipo,clave,campo,es,qu,ay,qu_revisado,ay_revisado"
    lines = text.splitlines()
    broken = "\r\n".join([lines[0], "reply,no_existe,,x,PRUEBA,,no,no"]).encode()
    response = client.post("/console/textos/subir", follow_redirects=True, data={
        "csrf_token": csrf_token(client, "/console/textos"),
        "archivo": (BytesIO(broken), "textos.csv")}, content_type="multipart/form-data")
    assert "línea 2: texto desconocido reply:no_existe:" in response.get_data(as_text=True)
    with db.session() as s:
        assert s.scalar(select(TextOverride)) is None
        assert s.scalar(select(AuditLog.action).where(AuditLog.action.like("texts_%"))
                        .order_by(AuditLog.id.desc())) == "texts_upload_refused"

"""The demo lives in its own database: never in a real one, never pushed to anyone."""
from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.knowledge.demo import DEMO_CONTACTS, SAMPLE_ALERTS, SAMPLE_SENDER
from bot.knowledge.alerts import import_alerts
from models import (Alert, AuditLog, Contact, DatabaseMark, OutboxMessage, PriceReport, Subscription,
                    User)
from nlu.server import free_port
from tests.fakes.clock import clock_at
from tests.fakes.topics import DATA, NOW, ask, cli  # noqa: F401 - fixture

ROOT = Path(__file__).resolve().parent.parent
PUNO_PHONE = "+51900000021"  # FAKE: stands for a real subscriber
DAY_ONE = datetime(2027, 3, 1, 17, 0, tzinfo=timezone.utc)  # 12:00 in Lima
COUNTED = (Contact, Subscription, OutboxMessage, PriceReport, Alert, User, DatabaseMark, AuditLog)


def real_subscriber(db, **profile) -> int:
    """Add a consenting contact subscribed to alerts in Puno; return her id."""
    with db.session() as s:
        her = Contact(phone=PUNO_PHONE, channels=["sms"], language="es", region="puno",
                      consent_at=DAY_ONE - timedelta(days=90), profile=profile)
        s.add(her)
        s.flush()
        s.add(Subscription(contact_id=her.id, kind="alerts", hazard="", region="puno"))
        return her.id


def counts(db) -> dict[str, int]:
    with db.session() as s:
        return {m.__tablename__: s.scalar(select(func.count()).select_from(m)) for m in COUNTED}


def make_run(database_url: str, *args: str, at: datetime | None = None, timeout: float = 240):
    """Run `make run` (web process only) until /healthz answers, then stop it; return (code, output)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MAKELEVEL", "MFLAGS"}}
    env.update(DATABASE_URL=database_url, PORT=str(port), SECRET_KEY="test-secret")
    env.update(clock_at(at) if at else {})
    proc = subprocess.Popen(["make", "run", "PROCESSES=web", *args], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + timeout
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                time.sleep(0.5)
        else:
            if proc.poll() is None:
                pytest.fail(f"make run did not answer /healthz within {timeout} s")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
        output = proc.communicate(timeout=60)[0]
    return proc.returncode, output


# ---- load-demo refuses a real database, and writes nothing ----
@pytest.mark.parametrize("real", ["contact", "user", "price", "alert"])
def test_load_demo_refuses_any_real_data_with_exit_2_and_writes_nothing(app, db, real):
    if real == "contact":
        real_subscriber(db)
    elif real == "user":
        with db.session() as s:
            s.add(User(email="coord@ong.example", role="coordinator", password_hash="x"))
    elif real == "price":
        assert cli(app, "import-prices", DATA / "prices_good.csv").exit_code == 0
    else:
        assert cli(app, "import-alerts", DATA / "cap_heladas.xml").exit_code == 0
    before = counts(db)
    result = cli(app, "load-demo")
    assert result.exit_code == 2
    assert "no es la de demostración" in result.output and "not the demo database" in result.output
    assert "nothing was written" in result.output
    assert counts(db) == before


def test_load_demo_marks_an_empty_database_and_loads_again_into_it(app, db, talk):
    first = cli(app, "load-demo")
    assert first.exit_code == 0 and "'marked_demo': True" in first.output
    talk("hola", phone="+51900000031")  # someone trying the demo: a contact of the demo database
    with db.session() as s:
        assert s.scalar(select(Contact).where(Contact.phone == "+51900000031")).is_demo
    again = cli(app, "load-demo")
    assert again.exit_code == 0 and "'marked_demo': False" in again.output
    assert "'contacts_created': 0" in again.output


# ---- dated relative to the day they are loaded, replaced on a later day ----
def test_a_later_day_replaces_the_samples_and_queues_nothing(app, db, clock):
    clock(DAY_ONE)
    assert cli(app, "load-demo").exit_code == 0
    her = real_subscriber(db, demo=True)  # a demo contact subscribed in Puno
    clock(DAY_ONE + timedelta(days=1))
    result = cli(app, "load-demo")
    assert result.exit_code == 0, result.output
    assert "'alerts_replaced': 2" in result.output and "'alert_pushes_queued': 0" in result.output
    with db.session() as s:
        alerts = s.scalars(select(Alert).order_by(Alert.identifier)).all()
        assert [a.identifier for a in alerts] == ["MUESTRA-HELADAS-001", "MUESTRA-LLUVIAS-001"]
        assert {a.status for a in alerts} == {"Exercise"}
        assert alerts[0].sent == datetime(2027, 3, 1, 15, 0, tzinfo=timezone.utc)  # 21/11 moved
        days = set(s.scalars(select(PriceReport.date).distinct()))
        assert max(days) == datetime(2027, 2, 28).date()  # the sample's 20/11, two days before
        assert len(days) == 2  # the earlier day's copies are gone, not kept beside
        assert s.scalars(select(OutboxMessage).where(OutboxMessage.contact_id == her)).all() == []


def test_the_sample_surveys_are_dated_on_the_day_they_are_loaded(app, db, clock):
    from models import Survey

    clock(DAY_ONE)
    assert cli(app, "load-demo").exit_code == 0
    with db.session() as s:
        assert set(s.scalars(select(Survey.source_date))) == {DAY_ONE.date()}


# ---- Exercise alerts: answered to demo contacts only, never pushed ----
def exercise_copy(tmp_path) -> Path:
    path = tmp_path / "cap_heladas_exercise.xml"
    xml = (DATA / "cap_heladas.xml").read_text(encoding="utf-8")
    xml = xml.replace("<status>Actual</status>", "<status>Exercise</status>")
    path.write_text(xml.replace("TEST-HELADAS-1", "TEST-HELADAS-EJERCICIO"), encoding="utf-8")
    return path


def test_an_exercise_alert_is_never_pushed_an_actual_one_is(app, db, tmp_path):
    her = real_subscriber(db)
    now = datetime(2026, 11, 22, 15, 0, tzinfo=timezone.utc)
    with db.session() as s:
        assert import_alerts(s, exercise_copy(tmp_path), now).pushes == 0
    with db.session() as s:
        assert import_alerts(s, DATA / "cap_heladas.xml", now).pushes == 1
        [row] = s.scalars(select(OutboxMessage)).all()
        assert row.contact_id == her and row.body.startswith("AVISO NARANJA: Heladas en Puno")


def test_an_exercise_alert_is_answered_only_to_a_demo_contact(app, db, ask, tmp_path):
    with db.session() as s:
        import_alerts(s, exercise_copy(tmp_path), NOW)
    demo_phone, real_phone = DEMO_CONTACTS[2][0], PUNO_PHONE
    with db.session() as s:
        s.add(Contact(phone=demo_phone, channels=["sms"], language="es", region="puno",
                      consent_at=DAY_ONE, profile={"demo": True}))
    real_subscriber(db)
    shown = ask("alerta puno", "ask_climate", phone=demo_phone, location="puno")[0]
    hidden = ask("alerta puno", "ask_climate", phone=real_phone, location="puno")[0]
    assert shown.startswith("AVISO NARANJA: Heladas en Puno")
    assert "No hay avisos" in hidden and "NARANJA" not in hidden


def test_the_sample_file_holds_only_exercise_alerts_of_the_sample_sender():
    xml = SAMPLE_ALERTS.read_text(encoding="utf-8")
    assert xml.count("<status>Exercise</status>") == xml.count("<alert ") == 2
    assert xml.count(f"<sender>{SAMPLE_SENDER}</sender>") == 2


# ---- make run: the real thing, as a subprocess ----
def test_make_run_on_a_real_database_only_migrates_and_demo_1_is_refused(app, db, database_url):
    her = real_subscriber(db)
    before = counts(db)
    code, output = make_run(database_url)
    assert "migrated only, no demo data" in output, output
    assert counts(db) == before
    code, output = make_run(database_url, "DEMO=1")
    assert code != 0 and "not the demo database" in output, output
    assert counts(db) == before
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(OutboxMessage)
                        .where(OutboxMessage.contact_id == her)) == 0
        assert s.scalar(select(func.count()).select_from(Contact)) == 1  # no demo contact


def test_make_run_twice_on_two_days_queues_no_sample_push(app, db, database_url):
    code, output = make_run(database_url, "DEMO=1", at=DAY_ONE)
    assert "'marked_demo': True" in output, output
    real_subscriber(db, demo=True)
    code, output = make_run(database_url, "DEMO=1", at=DAY_ONE + timedelta(days=1))
    assert "'alerts_replaced': 2" in output and "'alert_pushes_queued': 0" in output, output
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == 0
        assert s.scalar(select(func.count()).select_from(Alert)) == 2
        # the sample's 21/11 10:00 Lima, moved to the day before the second run's day
        assert s.scalar(select(func.min(Alert.sent))) == datetime(2027, 3, 1, 15, 0, tzinfo=timezone.utc)

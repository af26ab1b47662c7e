"""Date questions: reading "10/11" or "ayer", save_as into the contact's dates, results, and the
whole chain survey -> SMS answer -> profile date -> reminder job -> real sender, once."""
from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.proactive import reminders
from bot.surveys import service as surveys
from bot.conversations.engine import Inbound
from bot.jobs import JOBS
from bot.services import services
from bot.outbound.sender import Sender
from bot.surveys.results import results
from flows.dates import read_day
from models import Contact, OutboxMessage, SurveyAnswer, SurveyParticipant
from tests.fakes.outbox import NOON, add_contacts
from tests.console.conftest import as_role, console_app, staff  # noqa: F401 - fixtures
from tests.fakes.outbox import app, db  # noqa: F401 - fixtures

SIEMBRA = Path(__file__).resolve().parents[2] / "flows" / "data" / "surveys" / "siembra-2026.yml"
TODAY = date(2026, 11, 23)  # NOON's date in Lima


@pytest.mark.parametrize("text, expect, day", [
    ("10/11", "past", date(2026, 11, 10)),
    ("10-11", "past", date(2026, 11, 10)),
    ("10.11", "past", date(2026, 11, 10)),
    ("10/11/2026", "past", date(2026, 11, 10)),
    ("10 / 11 / 26", "past", date(2026, 11, 10)),
    ("10 de noviembre", "past", date(2026, 11, 10)),
    ("el 3 nov.", "past", date(2026, 11, 3)),
    ("Hoy", "past", TODAY),
    ("ayer", "past", TODAY - timedelta(days=1)),
    ("antier", "past", TODAY - timedelta(days=2)),
    ("24/12", "past", date(2025, 12, 24)),    # without a year: the last 24/12 before today
    ("24/12", "future", date(2026, 12, 24)),  # or the next one
    ("29/02", "past", None),                  # no 29/02 in 2026 or 2025
    ("10 de mayonesa", "past", None),
    ("31/02", "past", None),
    ("10/11/2024", "past", None),             # more than a year ago
    ("10/11/2028", "past", None),             # more than a year ahead
    ("1500", "past", None),
    ("sembre temprano", "past", None),
    ("10 de papas", "past", None),
])
def test_read_day(text, expect, day):
    assert read_day(text, TODAY, expect) == day


BAD = """\
slug: fechas-malas
title: x
source: ONG
owner: a@b.example
date: 2026-11-20
intro: {es: "Hola"}
questions:
  - key: kilos
    type: number
    min: 0
    max: 10
    save_as: kilos
    text: {es: "Cuanto"}
  - key: siembra
    type: date
    save_as: "Siembra Papa"
    text: {es: "Que dia"}
  - key: cuando
    type: date
    expect: ayer
    text: {es: "Cuando"}
"""


def test_save_as_and_expect_are_checked_when_loading(app, db, tmp_path):
    path = tmp_path / "fechas.yml"
    path.write_text(BAD, encoding="utf-8")
    with pytest.raises(surveys.SurveyError) as exc:
        surveys.read_file(path)
    problems = str(exc.value).splitlines()
    assert problems == [
        f"{path}:12: questions.0.save_as: only a date question can save_as a contact date",
        f"{path}:16: questions.1.save_as: a short lower_case name for the date, e.g. siembra",
        f"{path}:20: questions.2.expect: only on a date question, past or future",
    ]
    with db.session() as s:
        survey, what = surveys.load(s, SIEMBRA, NOON)
        assert what == "created" and survey.questions[0]["save_as"] == "siembra"


def answer(app, phone: str, body: str, now) -> str:
    return services(app).engine.handle(Inbound(address=phone, body=body), now).replies[0]


def test_a_date_answered_by_sms_feeds_a_reminder_sent_once_on_its_day(app, db, fake_twilio):
    with db.session() as s:
        farmer, neighbour, elsewhere = add_contacts(s, 3)
        elsewhere.region = "puno"
        survey, _ = surveys.load(s, SIEMBRA, NOON)
        assert surveys.send(s, survey, {"region": ["junin"]}, NOON)["invited"] == 2
        survey_id = survey.id
    sender = Sender(services(app))
    assert sender.run_once(NOON) == {"sent": 2}
    assert {m["to"] for m in fake_twilio.messages} == {farmer.phone, neighbour.phone}
    assert "1/1 ¿Qué dia sembraste tu papa?" in fake_twilio.messages[0]["body"]

    later = NOON + timedelta(hours=1)
    # Unreadable: asked again once, with the hint (GSM-7 on SMS: "entendi").
    assert answer(app, farmer.phone, "32/13", later).startswith("No entendi la fecha")
    assert answer(app, farmer.phone, "24/10", later).startswith("¡Gracias! Le avisaremos")
    assert answer(app, neighbour.phone, "ayer", later).startswith("¡Gracias!")
    with db.session() as s:
        dates = {c.phone: (c.profile or {}).get("dates") for c in s.scalars(select(Contact))}
        given = sorted(s.scalars(select(SurveyAnswer.value)))
        statuses = set(s.scalars(select(SurveyParticipant.status)
                                 .where(SurveyParticipant.survey_id == survey_id)))
        figures = results(s, s.get(type(survey), survey_id))["questions"][0]
    assert dates == {farmer.phone: {"siembra": "2026-10-24"},
                     neighbour.phone: {"siembra": "2026-11-22"}, elsewhere.phone: None}
    assert given == ["2026-10-24", "2026-11-22"] and statuses == {"completed"}
    assert (figures["type"], figures["n"], figures["dates"]) == (
        "date", 2, {"earliest": "2026-10-24", "latest": "2026-11-22"})

    # Aporque 35 days after sowing: the farmer's falls on 2026-11-28.
    with db.session() as s:
        r = reminders.create(s, name="aporque", date_field="siembra", days=35, now=NOON,
                             texts={"es": "Ya pasaron 35 días de tu siembra: toca el aporque."})
        r_id = r.id
        assert reminders.preview(s, r, NOON, days=7) == {"2026-11-28": [farmer.phone[:-4] + "****"]}
    job = JOBS["send_due_reminders"]
    day_before = NOON + timedelta(days=4)   # 2026-11-27, 12:00 Lima
    due_day = NOON + timedelta(days=5, hours=-3, minutes=15)  # 2026-11-28, 08:15 Lima
    with db.session() as s:
        assert job(s, day_before) == {"reminders": 1, "queued": 0, "already_queued": 0,
                                      "not_yet": 2, "too_late": 0}
    assert sender.run_once(day_before) == {}
    with db.session() as s:
        assert job(s, due_day)["queued"] == 1
    for rerun in (due_day + timedelta(hours=2), due_day + timedelta(days=1)):
        with db.session() as s:
            counts = job(s, rerun)
            assert (counts["queued"], counts["already_queued"]) == (0, 1)
    assert sender.run_once(due_day) == {"sent": 1}
    assert sender.run_once(due_day + timedelta(days=1)) == {}
    reminder = fake_twilio.messages[-1]
    assert reminder["to"] == farmer.phone and len(fake_twilio.messages) == 3
    assert reminder["body"] == "Ya pasaron 35 dias de tu siembra: toca el aporque."
    with db.session() as s:
        rows = s.scalars(select(OutboxMessage).where(OutboxMessage.source == "reminder")).all()
        assert [(r.key, r.status) for r in rows] == [
            (f"reminder:{r_id}:2026-11-28:contact:{farmer.id}", "sent")]
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == 3


def test_a_contact_without_consent_keeps_the_answer_but_no_date(app, db):
    with db.session() as s:
        [contact] = add_contacts(s, 1)
        survey, _ = surveys.load(s, SIEMBRA, NOON)
        surveys.send(s, survey, {}, NOON)
        p = s.scalar(select(SurveyParticipant))
        contact.consent_at = None  # withdrawn after the invitation (not possible today: defensive)
        surveys.record_answer(s, contact.id, {
            "participant_id": p.id, "index": 1, "invalid": 0, "status": "completed",
            "answer": {"key": "fecha_siembra", "value": "2026-11-10", "raw": "10/11",
                       "skipped": False, "save_as": "siembra"}}, NOON)
    with db.session() as s:
        assert s.scalar(select(SurveyAnswer.value)) == "2026-11-10"
        assert (s.get(Contact, contact.id).profile or {}).get("dates") is None


def test_hoy_through_the_signed_webhook_and_the_results_in_cli_and_console(app, db, as_role):
    from html import unescape

    from bot.clock import LIMA
    from models import utcnow
    from tests.fakes.signing import inbound_form, new_sid, post_signed

    now = utcnow()  # the webhook runs on the real clock
    with db.session() as s:
        [farmer] = add_contacts(s, 1)
        survey, _ = surveys.load(s, SIEMBRA, now)
        surveys.send(s, survey, {}, now)
        survey_id = survey.id
    client = app.test_client()
    response = post_signed(client, "/webhooks/twilio",
                           inbound_form("hoy", sid=new_sid(), phone=farmer.phone))
    assert "¡Gracias! Le avisaremos" in unescape(response.get_data(as_text=True))
    today = utcnow().astimezone(LIMA).date().isoformat()
    with db.session() as s:
        assert s.get(Contact, farmer.id).profile["dates"] == {"siembra": today}
    out = app.test_cli_runner().invoke(args=["survey", "results", "siembra-2026"]).output
    assert f"n 1, earliest {today}, latest {today}" in out and "[fecha_siembra, date]" in out
    html = as_role("coordinator").get(f"/console/encuestas/{survey_id}").get_data(as_text=True)
    assert f"1 fechas · la más temprana {today} · la más tardía {today}" in html

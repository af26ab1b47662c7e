"""Broadcasts: audience, preview, idempotent outbox rows, schedule, cancel, CLI, job."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.proactive import broadcasts
from bot.jobs import run_job
from bot.proactive.broadcasts import send_due_broadcasts
from bot.services import services
from bot.outbound.sender import Sender
from models import Broadcast, Contact, OutboxMessage, utcnow
from tests.fakes.outbox import NOON, add_contacts
from tests.fakes.outbox import app, db  # noqa: F401 - fixtures


def outbox_count(db, **where) -> int:
    with db.session() as s:
        query = select(func.count()).select_from(OutboxMessage)
        for name, value in where.items():
            query = query.where(getattr(OutboxMessage, name) == value)
        return s.scalar(query)


def make(db, **kw) -> int:
    kw.setdefault("texts", {"es": "Precio de la papa en Huancayo: S/ 1.20 el kilo", "qu": "Papa chani"})
    with db.session() as s:
        return broadcasts.create(s, name="test", now=NOON, **kw).id


def test_audience_excludes_stopped_and_unconsented_and_filters_segments(app, db):
    with db.session() as s:
        junin = add_contacts(s, 3, region="junin")
        puno = add_contacts(s, 2, start=910_000_100, region="puno", language="qu")
        junin[0].opted_out_at = NOON
        s.add(Contact(phone="+51910000900", region="junin", channels=["sms"], profile={}))
    b_id = make(db, segment={"region": ["Junin", "puno"]})
    with db.session() as s:
        people = broadcasts.audience(s, s.get(Broadcast, b_id), NOON)
    assert [p[0] for p in people] == [c.id for c in junin[1:] + puno]
    q_id = make(db, segment={"language": ["qu"]})
    with db.session() as s:
        assert len(broadcasts.audience(s, s.get(Broadcast, q_id), NOON)) == 2


def test_preview_counts_segments_after_gsm7_and_cost(app, db):
    with db.session() as s:
        add_contacts(s, 3)
        add_contacts(s, 1, start=910_000_100, channels=["sms", "whatsapp"])
    long_text = "Alerta de helada para mañana en Junín. " * 5  # á, í rewritten: GSM-7, 2 segments
    b_id = make(db, texts={"es": long_text})
    with db.session() as s:
        p = broadcasts.preview(s, s.get(Broadcast, b_id), NOON, services(app).settings)
    assert (p["recipients"], p["sms"], p["whatsapp"]) == (4, 3, 1)
    assert p["by_language"]["es"]["segments_per_sms"] == 2
    assert "Junin" in p["by_language"]["es"]["sms_text"]
    assert p["sms_segments"] == 6
    assert p["estimated_cost"] == pytest.approx(6 * 0.05 + 1 * 0.05)
    assert p["whatsapp_outside_window_without_template"] == 1


def test_building_rows_twice_adds_nothing(app, db):
    with db.session() as s:
        add_contacts(s, 5)
    b_id = make(db)
    with db.session() as s:
        b = broadcasts.schedule(s, s.get(Broadcast, b_id), NOON)
        assert broadcasts.run(s, b, NOON)["queued"] == 5
    with db.session() as s:  # e.g. a crash after commit and a re-run of the same occurrence
        b = s.get(Broadcast, b_id)
        b.status, b.next_run_at = "scheduled", NOON
        assert broadcasts.run(s, b, NOON) == {"recipients": 5, "queued": 0, "already_queued": 5}
    assert outbox_count(db) == 5


def test_a_crash_while_building_rows_leaves_nothing(app, db):
    with db.session() as s:
        add_contacts(s, 5)
    b_id = make(db)

    def crash(_n):
        raise KeyboardInterrupt  # the process dies in the middle

    with pytest.raises(KeyboardInterrupt), db.session() as s:
        b = broadcasts.schedule(s, s.get(Broadcast, b_id), NOON)
        broadcasts.run(s, b, NOON, progress=crash)
    assert outbox_count(db) == 0
    with db.session() as s:
        assert s.get(Broadcast, b_id).status == "draft"


def test_recurring_broadcast_runs_each_occurrence_once(app, db):
    with db.session() as s:
        add_contacts(s, 2)
    b_id = make(db, cron="0 8 * * *")  # 08:00 Lima = 13:00 UTC
    with db.session() as s:
        b = broadcasts.schedule(s, s.get(Broadcast, b_id), NOON)
        first = b.next_run_at
    assert first == NOON.replace(hour=13) + timedelta(days=1)
    with db.session() as s:
        assert send_due_broadcasts(s, NOON) == {"broadcasts": 0, "queued": 0, "already_queued": 0}
    for _ in range(2):
        with db.session() as s:
            send_due_broadcasts(s, first + timedelta(minutes=1))
    assert outbox_count(db) == 2
    with db.session() as s:
        b = s.get(Broadcast, b_id)
        assert (b.status, b.runs, b.next_run_at) == ("scheduled", 1, first + timedelta(days=1))
        send_due_broadcasts(s, first + timedelta(days=1))
    assert outbox_count(db) == 4


def test_due_job_runs_through_run_job(app, db, database_url):
    with db.session() as s:
        add_contacts(s, 2)
    b_id = make(db)
    with db.session() as s:
        broadcasts.schedule(s, s.get(Broadcast, b_id), utcnow())  # the job uses the real clock
    assert run_job("send_due_broadcasts", database_url)["queued"] == 2
    assert run_job("send_due_broadcasts", database_url)["queued"] == 0


def test_cancel_stops_what_is_still_queued(app, db, fake_twilio):
    with db.session() as s:
        add_contacts(s, 3)
    b_id = make(db)
    with db.session() as s:
        broadcasts.run(s, broadcasts.schedule(s, s.get(Broadcast, b_id), NOON), NOON)
    with db.session() as s:
        assert broadcasts.cancel(s, s.get(Broadcast, b_id), NOON) == {"canceled": 3}
    assert Sender(services(app)).run_once(NOON) == {}
    assert fake_twilio.messages == []
    with pytest.raises(broadcasts.BroadcastError), db.session() as s:
        broadcasts.cancel(s, s.get(Broadcast, b_id), NOON)


@pytest.mark.parametrize("kw,error", [
    ({"texts": {}}, "needs a text"),
    ({"texts": {"fr": "salut"}}, "unknown language"),
    ({"cron": "61 * * * *"}, "bad cron"),
    ({"content_variables": {"1": "x"}}, "without a template"),
    ({"content_sid": "XX123"}, "starts with HX"),
    ({"topic": "support"}, "violence"),
])
def test_bad_broadcasts_are_refused_clearly(app, db, kw, error):
    with pytest.raises(ValueError, match=error):
        make(db, **kw)


def test_cli_create_preview_send_status_cancel(app, db):
    with db.session() as s:
        add_contacts(s, 3, region="junin")
        add_contacts(s, 2, start=910_000_100, region="puno")
    run = app.test_cli_runner().invoke
    created = run(args=["broadcast", "create", "--name", "papa", "--text", "es=Papa en Huancayo: S/ 1.20",
                        "--region", "junin", "--red-alert"])
    assert created.exit_code == 0, created.output
    b_id = int(created.output.split()[1])
    preview = run(args=["broadcast", "preview", str(b_id)])
    assert "recipients: 3 (SMS 3, WhatsApp 0)" in preview.output and "estimated cost: 0.15" in preview.output
    sent = run(args=["broadcast", "send", str(b_id)])
    assert sent.exit_code == 0 and "3 message(s) queued" in sent.output
    status = run(args=["outbox", "status"])
    assert "queued       3" in status.output
    again = run(args=["broadcast", "send", str(b_id)])
    assert again.exit_code == 1 and "only a draft can be sent" in again.output
    assert run(args=["broadcast", "cancel", str(b_id)]).exit_code == 0
    assert "canceled     3" in run(args=["outbox", "status"]).output
    missing = run(args=["broadcast", "preview", "999"])
    assert missing.exit_code == 1 and "no broadcast 999" in missing.output
    bad = run(args=["broadcast", "create", "--name", "x", "--text", "hola"])
    assert bad.exit_code == 2 and "NAME=VALUE" in bad.output


def test_cli_sender_once_drains(app, db, fake_twilio):
    with db.session() as s:
        add_contacts(s, 4)
    b_id = make(db, urgent=True)
    with db.session() as s:
        broadcasts.run(s, broadcasts.schedule(s, s.get(Broadcast, b_id), NOON), NOON)
        s.execute(OutboxMessage.__table__.update().values(next_attempt_at=utcnow()))
    result = app.test_cli_runner().invoke(args=["sender", "--once"])
    assert result.exit_code == 0, result.output
    assert '"sent": 4' in result.stdout and len(fake_twilio.messages) == 4


@pytest.mark.parametrize("command", [["outbox", "status"], ["sender"], ["broadcast", "create"],
                                     ["broadcast", "preview"], ["broadcast", "send"],
                                     ["broadcast", "cancel"]])
def test_outbox_commands_have_help(app, command):
    result = app.test_cli_runner().invoke(args=[*command, "--help"])
    assert result.exit_code == 0 and len(result.output.splitlines()[2]) > 10


def test_rows_carry_text_per_language_channel_template_and_quiet_hours(app, db):
    from tests.fakes.outbox import NIGHT

    with db.session() as s:
        es = add_contacts(s, 1)
        qu = add_contacts(s, 1, start=910_000_100, language="qu", channels=["sms", "whatsapp"])
        ay = add_contacts(s, 1, start=910_000_200, language="ay")
    b_id = make(db, content_sid="HX" + "c" * 32, content_variables={"1": "Junín"})
    with db.session() as s:
        b = broadcasts.schedule(s, s.get(Broadcast, b_id), NIGHT)
        assert broadcasts.run(s, b, NIGHT)["queued"] == 3
    with db.session() as s:
        rows = {r.contact_id: r for r in s.scalars(select(OutboxMessage))}
    assert rows[es[0].id].body == rows[ay[0].id].body == "Precio de la papa en Huancayo: S/ 1.20 el kilo"
    assert (rows[qu[0].id].body, rows[qu[0].id].channel) == ("Papa chani", "whatsapp")
    assert rows[es[0].id].channel == "sms"
    assert rows[qu[0].id].content_variables == {"1": "Junín"}
    assert rows[es[0].id].key == f"broadcast:{b_id}:once:contact:{es[0].id}"
    seven = NIGHT.replace(hour=12, minute=0)  # 22:30 Lima: held until 07:00 Lima
    assert {r.next_attempt_at for r in rows.values()} == {seven}
    assert {(r.status, r.attempts, r.urgent) for r in rows.values()} == {("queued", 0, False)}

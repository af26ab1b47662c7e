"""`contact show|export|erase PHONE` through Flask's CLI runner, on SQLite and PostgreSQL."""
from __future__ import annotations

import json

from sqlalchemy import func, select

from models import AuditLog, Contact
from tests.fakes.signing import FAKE_PHONE
from tests.privacy.helpers import HER_WORDS, give_her_history


def run(app, *args):
    return app.test_cli_runner().invoke(args=["contact", *args])


def test_show_export_and_erase(app, client, db):
    give_her_history(client, db)
    shown = run(app, "show", "900 000 001")
    assert shown.exit_code == 0, shown.output
    assert FAKE_PHONE in shown.output and "junin" in shown.output and "c1" in shown.output
    exported = run(app, "export", FAKE_PHONE)
    data = json.loads(exported.output)
    assert data["consent"] == {"at": data["consent"]["at"], "channel": "sms", "text_version": "c1"}
    assert data["messages"][0]["body"] == HER_WORDS
    assert data["subscriptions"][0]["product"] == "papa"
    assert data["survey_participations"][0]["answers"][0]["value"] == "si"
    assert len(data["deliveries"]) == 1 and len(data["handoffs"]) == 1

    refused = run(app, "erase", FAKE_PHONE)
    assert refused.exit_code == 2 and "--yes" in refused.output
    erased = run(app, "erase", FAKE_PHONE, "--yes")
    assert erased.exit_code == 0 and "contacto borrado" in erased.output
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Contact)) == 0
        audit = s.scalar(select(AuditLog).where(AuditLog.action == "contact_erased"))
        assert audit.detail["by"] == "cli" and FAKE_PHONE[1:] not in json.dumps(audit.detail)


def test_no_such_contact_exits_1(app):
    for command in (["show", FAKE_PHONE], ["export", FAKE_PHONE], ["erase", FAKE_PHONE, "--yes"],
                    ["show", "not-a-number"]):
        result = run(app, *command)
        assert result.exit_code == 1 and "no such contact" in result.output, command


def test_every_command_has_help(app):
    for command in ("show", "export", "erase"):
        result = run(app, command, "--help")
        assert result.exit_code == 0 and len(result.output.splitlines()) > 3

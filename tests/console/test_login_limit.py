"""Per-address limit on failed sign-ins, on top of the per-account lock-out."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.console.auth import IP_FAILURE_LIMIT
from models import AuditLog
from tests.console.conftest import PASSWORD, csrf_token, email_of

pytestmark = pytest.mark.filterwarnings("error::sqlalchemy.exc.SAWarning")
ATTACKER, COLLEAGUE = "198.51.100.7", "198.51.100.8"  # documentation addresses (RFC 5737)


def attempt(client, email: str, password: str, ip: str):
    return client.post("/console/login", environ_base={"REMOTE_ADDR": ip},
                       data={"email": email, "password": password,
                             "csrf_token": csrf_token(client)})


def test_an_address_with_many_failures_is_refused_until_they_age_out(console_app, staff, db):
    client = console_app.test_client()
    for i in range(IP_FAILURE_LIMIT):  # a different account each time: no account locks
        assert attempt(client, f"nadie{i}@chaski.test", "wrong", ATTACKER).status_code == 401
    refused = attempt(client, email_of("admin"), PASSWORD, ATTACKER)  # even the right password
    assert refused.status_code == 429 and "Demasiados intentos" in refused.get_data(as_text=True)
    assert client.get("/console/").status_code == 302  # not signed in
    other = console_app.test_client()
    assert attempt(other, email_of("admin"), PASSWORD, COLLEAGUE).status_code == 302
    with db.session() as s:
        actions = s.scalars(select(AuditLog.action).where(AuditLog.ip == ATTACKER)).all()
        assert actions.count("login_failed") == IP_FAILURE_LIMIT
        assert actions[-1] == "login_throttled"
        for row in s.scalars(select(AuditLog)):  # sixteen minutes later
            row.created_at -= timedelta(minutes=16)
    assert attempt(client, email_of("admin"), PASSWORD, ATTACKER).status_code == 302

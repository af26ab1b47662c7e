"""Security headers on every console page, and which proxies' X-Forwarded-For is believed."""
from __future__ import annotations

import pytest
from flask import request

from bot import CONTENT_SECURITY_POLICY
from bot.console.auth import IP_FAILURE_LIMIT
from tests.conftest import make_app
from tests.console.conftest import PASSWORD, csrf_token, email_of
from tests.console.test_login_limit import ATTACKER

pytestmark = pytest.mark.filterwarnings("error::sqlalchemy.exc.SAWarning")
HEADERS = {"Content-Security-Policy": CONTENT_SECURITY_POLICY, "X-Content-Type-Options": "nosniff",
           "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin"}


def test_console_pages_carry_the_security_headers(as_role):
    client = as_role("admin")
    for path in ("/console/login", "/console/", "/console/revision", "/console/static/console.css",
                 "/console/no-such-page"):
        response = client.get(path)
        for name, value in HEADERS.items():
            assert response.headers.get(name) == value, (path, name)
        assert "Strict-Transport-Security" not in response.headers  # PUBLIC_URL is not https
    assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY
    assert "script-src" not in CONTENT_SECURITY_POLICY  # default-src 'none': no script at all


def test_no_page_needs_an_inline_style(as_role, conversations):
    client = as_role("admin")
    for path in ("/console/", "/console/revision", "/console/conversaciones", "/console/reentrenar",
                 "/console/campanas", "/console/encuestas", "/console/auditoria"):
        response = client.get(path)
        assert response.status_code == 200, path
        html = response.get_data(as_text=True)
        assert "style=" not in html and "<style" not in html and "<script" not in html, path


def test_hsts_only_when_the_public_url_is_https(database_url):
    https = make_app(database_url, PUBLIC_URL="https://chaski.example.org")
    assert https.test_client().get("/console/login").headers["Strict-Transport-Security"] == (
        "max-age=31536000")
    plain = make_app(database_url, PUBLIC_URL="http://chaski.example.org")
    assert "Strict-Transport-Security" not in plain.test_client().get("/console/login").headers


def seen_addr(app, headers: dict) -> str:
    """Return request.remote_addr as a view sees it, through the app's whole WSGI stack."""
    seen = []

    @app.get("/_addr")
    def _addr():
        seen.append(request.remote_addr)
        return ""

    app.test_client().get("/_addr", headers=headers, environ_base={"REMOTE_ADDR": "10.0.0.2"})
    return seen[0]


def test_forwarded_for_is_ignored_without_trusted_proxies(database_url):
    forged = {"X-Forwarded-For": "203.0.113.9"}
    assert seen_addr(make_app(database_url), forged) == "10.0.0.2"
    assert seen_addr(make_app(database_url, TRUSTED_PROXIES=1), forged) == "203.0.113.9"
    two = {"X-Forwarded-For": "203.0.113.9, 198.51.100.1"}  # client, then the first proxy
    assert seen_addr(make_app(database_url, TRUSTED_PROXIES=2), two) == "203.0.113.9"
    assert seen_addr(make_app(database_url, TRUSTED_PROXIES=1), two) == "198.51.100.1"


def fail_from(app, forwarded_for: str | None):
    client = app.test_client()
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    return client.post("/console/login", environ_base={"REMOTE_ADDR": ATTACKER}, headers=headers,
                       data={"email": "nadie@chaski.test", "password": "wrong",
                             "csrf_token": csrf_token(client)})


@pytest.mark.parametrize("proxies", [0, 1])
def test_a_forged_forwarded_for_dodges_the_sign_in_limit_only_behind_a_trusted_proxy(
        database_url, staff, proxies):
    app = make_app(database_url, TRUSTED_PROXIES=proxies)  # on the tables `staff` filled
    for i in range(IP_FAILURE_LIMIT):  # each try claims another address
        assert fail_from(app, f"203.0.113.{i + 1}").status_code == 401
    client = app.test_client()
    right = client.post("/console/login", environ_base={"REMOTE_ADDR": ATTACKER},
                        headers={"X-Forwarded-For": "203.0.113.200"},
                        data={"email": email_of("admin"), "password": PASSWORD,
                              "csrf_token": csrf_token(client)})
    # No trusted proxy: every try came from ATTACKER, now refused. One trusted proxy: the
    # header is believed (as it must be behind nginx), so each address had one failure.
    assert right.status_code == (429 if proxies == 0 else 302)

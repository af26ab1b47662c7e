"""Console fixtures: one signed-in client per role, conversations to look at."""
from __future__ import annotations

import re
import threading
from contextlib import contextmanager

import pytest
from sqlalchemy import select
from werkzeug.security import generate_password_hash
from werkzeug.serving import make_server

from bot.services import services
from models import ROLES, Message, Review, User

PASSWORD = "clave-de-prueba-123"
# Staff made by fixtures get a cheap hash: scrypt (the default) is slow on purpose, ~0.1 s a check.
_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
VIOLENT_PHONE = "+51900000011"  # FAKE test numbers
FARMER_PHONE = "+51900000012"


def email_of(role: str) -> str:
    return f"{role}@chaski.test"


def csrf_token(client, path: str = "/console/login") -> str:
    """Return the CSRF token of the form on `path`, as a browser would read it."""
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def sign_in(client, email: str, password: str = PASSWORD):
    """Post the login form with its CSRF token; return the response."""
    return client.post("/console/login", data={"email": email, "password": password,
                                                "csrf_token": csrf_token(client)})


@pytest.fixture
def console_app(app, tmp_path):
    """The app, exporting training data to a temporary nlu/data instead of the real one."""
    app.config["CHASKI"] = app.config["CHASKI"].with_overrides({"NLU_DATA_DIR": str(tmp_path / "data")})
    services(app).settings = app.config["CHASKI"]
    return app


@pytest.fixture
def staff(console_app, db) -> dict[str, int]:
    """Create one user per role; return role -> user id."""
    ids = {}
    with db.session() as s:
        for role in ROLES:
            user = User(email=email_of(role), role=role, password_hash=_HASH, active=True,
                        failed_logins=0)
            s.add(user)
            s.flush()
            ids[role] = user.id
    return ids


@pytest.fixture
def as_role(console_app, staff):
    """Return as_role(role) -> a test client signed in with that role."""

    def _client(role: str):
        client = console_app.test_client()
        response = sign_in(client, email_of(role))
        assert response.status_code == 302, response.get_data(as_text=True)
        return client

    return _client


@pytest.fixture
def conversations(talk, db):
    """Create a violence conversation and a farmer's conversation; return their contact ids."""
    from sqlalchemy import select

    from models import Contact

    talk("hola", phone=FARMER_PHONE)
    talk("cuanto sta la papa en huancayo", phone=FARMER_PHONE)
    talk("me quiere matar", phone=VIOLENT_PHONE)
    with db.session() as s:
        return {phone: s.scalar(select(Contact.id).where(Contact.phone == phone))
                for phone in (FARMER_PHONE, VIOLENT_PHONE)}


@pytest.fixture
def reviewed(db, talk):
    """One reviewed message that an export would write."""
    talk("q cancion suena en la radio ahorita", phone="+51900000031")
    with db.session() as s:
        message = s.scalar(select(Message).where(Message.direction == "in"))
        s.add(Review(message_id=message.id, status="confirmed", text=message.body,
                     intent="out_of_scope", entities={}))


@contextmanager
def live_server(app):
    """Serve `app` on a free loopback port in a thread; yield its base URL, then shut it down."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()

"""Outbound Twilio REST access, through the real twilio library and a local fake API."""
import json
import logging
import socket

import pytest
import requests
import urllib3

from bot.channels.twilio import BaseUrlHttpClient, SendResult, build_client, send_message
from tests.fakes.guard import RealTwilioReached, block_real_twilio
from tests.fakes.twilio_api import FAKE_ACCOUNT_SID, FAKE_AUTH_TOKEN, FakeTwilioAPI, count_segments

SMS_FROM = "+15005550006"
WA_FROM = "whatsapp:+14155238886"
TO = "+51900000098"  # FAKE: this project's test range
SERVICE_SID = "MG" + "f" * 32
CONTENT_SID = "HX" + "f" * 32


@pytest.fixture(autouse=True)
def _guard(monkeypatch):
    block_real_twilio(monkeypatch)


@pytest.fixture(scope="module")
def server():
    with FakeTwilioAPI() as fake:
        yield fake


@pytest.fixture
def fake(server):
    server.reset()
    yield server
    server.wait_idle()
    server.reset()


def raw_http() -> requests.Session:
    """Return a plain HTTP session that ignores proxy settings, for talking to the fake directly."""
    session = requests.Session()
    session.trust_env = False
    return session


@pytest.fixture
def client(fake):
    return build_client(FAKE_ACCOUNT_SID, FAKE_AUTH_TOKEN, api_base_url=fake.base_url, timeout=5)


def test_send_sms_through_real_client(fake, client):
    result = send_message(client, to=TO, from_=SMS_FROM, body="Papa en Huancayo: S/ 1.20 el kg",
                          status_callback="https://chaski.example/webhooks/twilio/status")
    assert result.sid.startswith("SM") and len(result.sid) == 34
    assert result.status == "queued"
    assert result.num_segments == 1
    assert result.error_code is None and result.retryable is False and result.ok
    [req] = fake.requests
    assert req["method"] == "POST" and req["auth_ok"] is True
    assert req["path"] == f"/2010-04-01/Accounts/{FAKE_ACCOUNT_SID}/Messages.json"
    assert req["form"] == {"To": TO, "From": SMS_FROM, "Body": "Papa en Huancayo: S/ 1.20 el kg",
                           "StatusCallback": "https://chaski.example/webhooks/twilio/status"}
    [msg] = fake.messages
    assert msg["sid"] == result.sid and msg["direction"] == "outbound-api"
    assert msg["to"] == TO and msg["from"] == SMS_FROM and msg["error_code"] is None


def test_fetch_message_back(fake, client):
    result = send_message(client, to=TO, from_=SMS_FROM, body="hola")
    fetched = client.messages(result.sid).fetch()
    assert fetched.sid == result.sid and fetched.body == "hola" and fetched.status == "queued"
    assert fetched.date_created is not None  # RFC 2822, parsed by the library
    resp = raw_http().get(f"{fake.base_url}/2010-04-01/Accounts/{FAKE_ACCOUNT_SID}"
                          f"/Messages/SM{'0' * 32}.json",
                        auth=(FAKE_ACCOUNT_SID, FAKE_AUTH_TOKEN))
    assert resp.status_code == 404 and resp.json()["code"] == 20404


def test_send_whatsapp_template(fake, client):
    result = send_message(client, to="whatsapp:" + TO, from_=WA_FROM, content_sid=CONTENT_SID,
                          content_variables={"1": "helada", "2": "mañana"})
    assert result.ok and result.status == "queued"
    form = fake.requests[0]["form"]
    assert form["ContentSid"] == CONTENT_SID and "Body" not in form
    assert json.loads(form["ContentVariables"]) == {"1": "helada", "2": "mañana"}
    assert form["To"] == "whatsapp:" + TO and form["From"] == WA_FROM


def test_send_with_messaging_service(fake, client):
    result = send_message(client, to=TO, messaging_service_sid=SERVICE_SID, body="hola")
    assert result.ok and result.status == "accepted"
    assert fake.requests[0]["form"] == {"To": TO, "MessagingServiceSid": SERVICE_SID, "Body": "hola"}
    assert fake.messages[0]["messaging_service_sid"] == SERVICE_SID


@pytest.mark.parametrize("status,code", [(429, 20429), (500, 20500), (503, 20503)])
def test_transient_errors_are_retryable(fake, client, status, code):
    fake.fail_next(status=status, code=code, message="try later")
    result = send_message(client, to=TO, from_=SMS_FROM, body="hola")
    assert result == SendResult(error_code=code, error_message="try later", retryable=True)
    assert fake.messages == []
    assert send_message(client, to=TO, from_=SMS_FROM, body="hola").ok  # only the next one failed


def test_opted_out_recipient_is_not_retryable(fake, client):
    fake.fail_next(status=400, code=21610, message="Attempt to send to unsubscribed recipient")
    result = send_message(client, to=TO, from_=SMS_FROM, body="hola")
    assert result.error_code == 21610 and result.retryable is False and not result.ok
    assert result.error_message == "Attempt to send to unsubscribed recipient"


def test_whatsapp_outside_session_window(fake, client):
    fake.fail_next(status=400, code=63016, message="Failed to send freeform message because you are "
                   "outside the allowed window.")
    result = send_message(client, to="whatsapp:" + TO, from_=WA_FROM, body="hola")
    assert result.error_code == 63016 and result.retryable is False


def test_fake_validates_like_twilio(fake, client):
    cases = [
        (dict(to=TO, body="x"), 21603),
        (dict(to=TO, from_=SMS_FROM), 21602),
        (dict(to="whatsapp:" + TO, from_=SMS_FROM, body="x"), 21910),
        (dict(to="12345", from_=SMS_FROM, body="x"), 21211),
        (dict(to=TO, from_=SMS_FROM, body="x" * 1601), 21617),
    ]
    for kwargs, code in cases:
        result = send_message(client, **kwargs)
        assert (result.error_code, result.retryable) == (code, False), kwargs
    resp = raw_http().post(f"{fake.base_url}/2010-04-01/Accounts/{FAKE_ACCOUNT_SID}/Messages.json",
                         data={"From": SMS_FROM, "Body": "x"}, auth=(FAKE_ACCOUNT_SID, FAKE_AUTH_TOKEN))
    assert resp.status_code == 400 and resp.json()["code"] == 21604
    assert fake.messages == []


def test_timeout_is_retryable(fake):
    slow = build_client(FAKE_ACCOUNT_SID, FAKE_AUTH_TOKEN, api_base_url=fake.base_url, timeout=0.3)
    fake.delay_next(1.5)
    result = send_message(slow, to=TO, from_=SMS_FROM, body="hola")  # would succeed untimed
    assert result.retryable is True and result.error_code is None and result.sid is None
    assert "Timeout" in result.error_message
    # Like Twilio, the fake still accepts the message the client gave up on: retries need care.
    assert fake.wait_idle(5)
    assert len(fake.messages) == 1 and fake.requests[0]["status"] == 201


def test_connection_refused_is_retryable():
    dead = FakeTwilioAPI().start()
    url = dead.base_url
    dead.stop()
    client = build_client(FAKE_ACCOUNT_SID, FAKE_AUTH_TOKEN, api_base_url=url, timeout=2)
    result = send_message(client, to=TO, from_=SMS_FROM, body="hola")
    assert result.retryable is True and result.error_code is None


def test_wrong_auth_token(fake):
    bad = build_client(FAKE_ACCOUNT_SID, "wrong-token", api_base_url=fake.base_url)
    result = send_message(bad, to=TO, from_=SMS_FROM, body="hola")
    assert result.error_code == 20003 and result.retryable is False
    assert fake.requests[0]["auth_ok"] is False and fake.messages == []


@pytest.mark.parametrize("sid,token", [(None, None), ("", "tok"), (FAKE_ACCOUNT_SID, None)])
def test_missing_credentials_disable_outbound(caplog, sid, token):
    with caplog.at_level(logging.WARNING, logger="bot.channels.twilio"):
        assert build_client(sid, token) is None
    assert "TWILIO_ACCOUNT_SID/TWILIO_AUTH_TOKEN not set: outbound messages disabled" in caplog.text


def test_guard_stops_a_client_without_base_url(monkeypatch):
    monkeypatch.setenv("TWILIO_EDGE", "sydney")  # would rewrite hosts; the guard must clear it
    block_real_twilio(monkeypatch)
    real = build_client(FAKE_ACCOUNT_SID, FAKE_AUTH_TOKEN)
    assert real.edge is None and real.region is None
    with pytest.raises(RealTwilioReached, match="api.twilio.com"):
        send_message(real, to=TO, from_=SMS_FROM, body="hola")
    with pytest.raises(RealTwilioReached):
        socket.getaddrinfo("content.twilio.com", 443)
    with pytest.raises(RealTwilioReached):
        socket.create_connection(("messaging.twilio.com", 443))
    with pytest.raises(RealTwilioReached, match="getaddrinfo"):  # below requests, e.g. via urllib3
        urllib3.PoolManager().request("POST", "https://api.twilio.com/2010-04-01/Accounts")


def test_base_url_rewrites_every_twilio_domain():
    http = BaseUrlHttpClient(api_base_url="http://127.0.0.1:9999/")
    assert http.rewrite("https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json") == \
        "http://127.0.0.1:9999/2010-04-01/Accounts/AC1/Messages.json"
    assert http.rewrite("https://content.twilio.com/v1/Content") == "http://127.0.0.1:9999/v1/Content"
    assert http.rewrite("https://messaging.twilio.com/v1/Services") == "http://127.0.0.1:9999/v1/Services"
    assert http.rewrite("https://example.com/x.twilio.com") == "https://example.com/x.twilio.com"
    assert http.timeout == 10.0
    assert BaseUrlHttpClient().rewrite("https://api.twilio.com/x") == "https://api.twilio.com/x"


@pytest.mark.parametrize("body,segments", [
    ("a" * 160, 1), ("a" * 161, 2), ("a" * 306, 2), ("a" * 307, 3),
    ("á" + "a" * 69, 1), ("á" + "a" * 70, 2), ("€" * 80, 1), ("€" * 81, 2), ("ñÑüé", 1),
])
def test_segment_count(body, segments):
    assert count_segments(body) == segments


def test_segments_reported_by_fake(fake, client):
    assert send_message(client, to=TO, from_=SMS_FROM, body="a" * 161).num_segments == 2
    assert send_message(client, to=TO, from_=SMS_FROM, body="á" + "a" * 70).num_segments == 2

"""Outbound Twilio REST access on asyncio (the sender's default), through the real twilio library."""
import asyncio

import pytest

from bot.channels.twilio import SendResult, build_client, send_message
from bot.channels.twilio_async import (AsyncBaseUrlHttpClient, build_async_client,
                                       close_async_client, send_message_async)
from tests.fakes.guard import RealTwilioReached
from tests.fakes.twilio_api import FAKE_ACCOUNT_SID, FAKE_AUTH_TOKEN, FakeTwilioAPI

SMS_FROM = "+15005550006"
WA_FROM = "whatsapp:+14155238886"
TO = "+51900000097"  # FAKE: this project's test range
CONTENT_SID = "HX" + "e" * 32


@pytest.fixture
def fake(fake_twilio):
    """The suite's fake Twilio API (tests/fakes/guard.py), under a shorter name."""
    return fake_twilio


def send(base_url: str | None, *, token: str = FAKE_AUTH_TOKEN, timeout: float = 5,
         **message) -> SendResult:
    """Send one message with a fresh async client in a fresh event loop."""
    async def go():
        client = build_async_client(FAKE_ACCOUNT_SID, token, api_base_url=base_url, timeout=timeout)
        try:
            return await send_message_async(client, **message)
        finally:
            await close_async_client(client)

    return asyncio.run(go())


def test_an_sms_is_accepted_with_the_same_record_as_the_sync_client(fake):
    result = send(fake.base_url, to=TO, from_=SMS_FROM, body="Papa en Huancayo: S/ 1.20 el kg",
                  status_callback="https://chaski.example/webhooks/twilio/status")
    assert result.sid.startswith("SM") and len(result.sid) == 34
    assert (result.status, result.num_segments, result.ok) == ("queued", 1, True)
    [req] = fake.requests
    assert req["method"] == "POST" and req["auth_ok"] is True
    assert req["form"]["StatusCallback"] == "https://chaski.example/webhooks/twilio/status"
    sync = send_message(build_client(FAKE_ACCOUNT_SID, FAKE_AUTH_TOKEN, api_base_url=fake.base_url),
                        to=TO, from_=SMS_FROM, body="Papa en Huancayo: S/ 1.20 el kg")
    assert {k: v for k, v in vars(sync).items() if k != "sid"} == \
        {k: v for k, v in vars(result).items() if k != "sid"}


def test_a_template_goes_with_its_content_sid_and_variables(fake):
    result = send(fake.base_url, to="whatsapp:" + TO, from_=WA_FROM, content_sid=CONTENT_SID,
                  content_variables={"body": "Helada mañana"})
    assert result.ok
    form = fake.requests[0]["form"]
    assert form["ContentSid"] == CONTENT_SID and "Helada mañana" in form["ContentVariables"]


@pytest.mark.parametrize("status,code", [(429, 20429), (500, 20500), (503, 20503)])
def test_transient_errors_are_retryable(fake, status, code):
    fake.fail_next(status=status, code=code, message="try later")
    assert send(fake.base_url, to=TO, from_=SMS_FROM, body="hola") == \
        SendResult(error_code=code, error_message="try later", retryable=True)
    assert fake.messages == []


def test_opted_out_recipient_is_final(fake):
    fake.fail_next(status=400, code=21610, message="Attempt to send to unsubscribed recipient")
    result = send(fake.base_url, to=TO, from_=SMS_FROM, body="hola")
    assert (result.error_code, result.retryable, result.ambiguous) == (21610, False, False)
    assert result.error_message == "Attempt to send to unsubscribed recipient"


def test_wrong_auth_token_is_refused(fake):
    result = send(fake.base_url, token="wrong-token", to=TO, from_=SMS_FROM, body="hola")
    assert result.error_code == 20003 and result.retryable is False
    assert fake.requests[0]["auth_ok"] is False and fake.messages == []


def test_a_read_timeout_may_have_reached_twilio(fake):
    fake.delay_next(1.5)
    result = send(fake.base_url, timeout=0.3, to=TO, from_=SMS_FROM, body="hola")
    assert (result.retryable, result.ambiguous, result.sid) == (True, True, None)
    assert "Timeout" in result.error_message
    assert fake.wait_idle(5) and len(fake.messages) == 1  # Twilio kept it: never resent blindly


def test_a_refused_connection_never_reached_twilio():
    dead = FakeTwilioAPI().start()
    url = dead.base_url
    dead.stop()
    result = send(url, timeout=2, to=TO, from_=SMS_FROM, body="hola")
    assert (result.retryable, result.ambiguous, result.error_code) == (True, False, None)


def test_the_guard_stops_an_async_client_without_base_url():
    with pytest.raises(RealTwilioReached, match="api.twilio.com"):
        send(None, to=TO, from_=SMS_FROM, body="hola")


def test_base_url_rewrites_every_twilio_domain():
    async def rewritten():
        http = AsyncBaseUrlHttpClient(api_base_url="http://127.0.0.1:9999/")
        try:
            return [http.rewrite(u) for u in ("https://api.twilio.com/2010-04-01/Accounts",
                                              "https://content.twilio.com/v1/Content",
                                              "https://example.com/x.twilio.com")]
        finally:
            await http.session.close()

    assert asyncio.run(rewritten()) == ["http://127.0.0.1:9999/2010-04-01/Accounts",
                                        "http://127.0.0.1:9999/v1/Content",
                                        "https://example.com/x.twilio.com"]

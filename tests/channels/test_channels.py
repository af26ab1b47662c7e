"""Outbound sends from the app's own settings reach the fake Twilio API, never Twilio."""
import pytest

from bot import channels
from bot.services import services
from tests.conftest import make_app
from tests.fakes.guard import RealTwilioReached
from tests.fakes.twilio_api import FAKE_ACCOUNT_SID


@pytest.fixture
def wired_app(database_url, fake_twilio):
    return make_app(database_url, TWILIO_API_BASE_URL=fake_twilio.base_url,
                    TWILIO_SMS_FROM="+51900000000", TWILIO_WHATSAPP_FROM="whatsapp:+51900000009")


def test_sms_send_goes_to_the_fake_rewritten_to_gsm7(wired_app, fake_twilio):
    result = services(wired_app).send("sms", "+51900000001", "¿Cuánto está la papa? Línea 100",
                                      status_callback="https://example.org/webhooks/twilio/status")
    assert result.ok and result.sid.startswith("SM") and result.num_segments == 1
    form = fake_twilio.messages[0]
    assert form["to"] == "+51900000001" and form["from"] == "+51900000000"
    assert form["body"] == "¿Cuanto esta la papa? Linea 100"
    request = fake_twilio.requests[0]
    assert request["path"] == f"/2010-04-01/Accounts/{FAKE_ACCOUNT_SID}/Messages.json"
    assert request["form"]["StatusCallback"] == "https://example.org/webhooks/twilio/status"


def test_whatsapp_send_keeps_unicode_and_prefixes(wired_app, fake_twilio):
    result = services(wired_app).send("whatsapp", "+51900000001", "¿Cuánto está?")
    assert result.ok
    assert fake_twilio.messages[0]["to"] == "whatsapp:+51900000001"
    assert fake_twilio.messages[0]["body"] == "¿Cuánto está?"


def test_twilio_errors_come_back_as_results(wired_app, fake_twilio):
    fake_twilio.fail_next(status=400, code=21610, message="Attempt to send to unsubscribed recipient")
    result = services(wired_app).send("sms", "+51900000001", "hola")
    assert not result.ok and result.error_code == 21610 and not result.retryable


def test_missing_sender_or_credentials_sends_nothing(database_url, fake_twilio):
    app = make_app(database_url, TWILIO_API_BASE_URL=fake_twilio.base_url)  # no From numbers
    result = services(app).send("sms", "+51900000001", "hola")
    assert not result.ok and "not configured" in result.error_message
    no_creds = make_app(database_url, TWILIO_ACCOUNT_SID=None, TWILIO_SMS_FROM="+51900000000")
    assert services(no_creds).twilio is None
    assert not services(no_creds).send("sms", "+51900000001", "hola").ok
    assert fake_twilio.requests == []


def test_without_a_base_url_the_guard_stops_the_real_twilio(database_url):
    app = make_app(database_url, TWILIO_SMS_FROM="+51900000000")
    with pytest.raises(RealTwilioReached):
        services(app).send("sms", "+51900000001", "hola")


def test_unknown_channel_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown channel 'fax'"):
        channels.get("fax")

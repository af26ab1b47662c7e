"""Sign requests the way Twilio does, so tests can post to the webhooks."""
from __future__ import annotations

from twilio.request_validator import RequestValidator

from tests.fakes.twilio_api import FAKE_AUTH_TOKEN

BASE = "http://localhost"
FAKE_PHONE = "+51900000001"  # FAKE: +51 900 000 0XX is this project's range for test numbers


def signature(url: str, form: dict, token: str = FAKE_AUTH_TOKEN) -> str:
    """Return the X-Twilio-Signature Twilio would send for `form` posted to `url`."""
    return RequestValidator(token).compute_signature(url, form)


def inbound_form(body: str = "hola", sid: str = "SM" + "0" * 32, phone: str = FAKE_PHONE,
                 channel: str = "sms", **extra) -> dict:
    """Return the form Twilio posts for an inbound message."""
    prefix = "whatsapp:" if channel == "whatsapp" else ""
    form = {"MessageSid": sid, "SmsSid": sid, "AccountSid": "AC" + "f" * 32,
            "From": f"{prefix}{phone}", "To": f"{prefix}+51900000000", "Body": body,
            "NumMedia": "0", "NumSegments": "1", "ApiVersion": "2010-04-01"}
    if channel == "whatsapp":
        form.update({"ProfileName": "Fake Name", "WaId": phone.lstrip("+")})
    form.update({k: str(v) for k, v in extra.items()})
    return form


def post_signed(client, path: str, form: dict, *, url: str | None = None,
                token: str = FAKE_AUTH_TOKEN, headers: dict | None = None):
    """POST `form` to `path` with a valid signature over `url` (the test client's URL)."""
    headers = dict(headers or {})
    headers["X-Twilio-Signature"] = signature(url or BASE + path, form, token)
    return client.post(path, data=form, headers=headers)


_counter = iter(range(1, 10**9))


def new_sid() -> str:
    """Return a fresh, fake MessageSid."""
    return f"SM{next(_counter):032x}"

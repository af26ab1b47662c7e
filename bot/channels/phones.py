"""Phone numbers and Twilio addresses: E.164 (`to_e164`), channel prefixes, masking."""
from __future__ import annotations

import phonenumbers

DEFAULT_REGION = "PE"
CHANNEL_PREFIXES = {"whatsapp:": "whatsapp"}


class InvalidPhone(ValueError):
    """A phone number that cannot be read as a real number."""


def split_address(address: str) -> tuple[str, str]:
    """Split a Twilio address such as `whatsapp:+51...` into (channel, number)."""
    address = (address or "").strip()
    for prefix, channel in CHANNEL_PREFIXES.items():
        if address.lower().startswith(prefix):
            return channel, address[len(prefix):]
    return "sms", address


def to_e164(number: str, region: str = DEFAULT_REGION) -> str:
    """Return `number` in E.164 (+51 when no country code is given)."""
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone(f"not a phone number: {number!r}") from exc
    if not phonenumbers.is_possible_number(parsed):
        raise InvalidPhone(f"not a possible phone number: {number!r}")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def country(phone: str) -> str | None:
    """Return the ISO country code of an E.164 number ("PE"), or None when unknown."""
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(phone))
    except phonenumbers.NumberParseException:
        return None


def mask(phone: str) -> str:
    """Return `phone` with its last digits hidden, for logs."""
    return phone[:-4] + "****" if len(phone) > 6 else "****"

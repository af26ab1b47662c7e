"""The webhook's TwiML template writes what Twilio's own MessagingResponse writes."""
from __future__ import annotations

import pytest
from twilio.twiml.messaging_response import MessagingResponse

from bot.channels.webhooks import twiml


def reference(replies: list[str]) -> str:
    response = MessagingResponse()
    for text in replies:
        response.message(text)
    return str(response)


@pytest.mark.parametrize("replies", [
    [],
    ["Hola"],
    ["Precios: papa S/ 1.20 <kg> & más", "Escribe MENU\npara \"otras\" 'opciones'"],
    ["]]> ñ é € 105"],
])
def test_template_matches_the_twilio_library(replies):
    answer = twiml(replies)
    assert answer.mimetype == "application/xml"
    assert answer.get_data(as_text=True) == reference(replies)

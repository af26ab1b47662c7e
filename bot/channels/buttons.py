"""Read a WhatsApp tap (a quick-reply button or a list item) as the digit it stands for.

Every button and list item Chaski sends has the answer it stands for as its id
(bot/channels/content.py): "1", "2"... "0". Twilio posts a tapped button as
`ButtonPayload` (its id) and `ButtonText` (its title), a picked list item as
`ListId` and `ListTitle`. The engine then sees exactly the digit a person would
have typed, so every flow that reads numbered answers reads taps too. A payload
that is not one of ours (a template button of another system) leaves the Body as it is.
"""
from __future__ import annotations

import re

OUR_IDS = re.compile(r"^\d{1,2}$")
TAP_FIELDS = ("ButtonPayload", "ListId")


def inbound_text(form) -> str:
    """Return the text of an inbound message: the digit of a tap, else its Body."""
    for name in TAP_FIELDS:
        value = (form.get(name) or "").strip()
        if OUR_IDS.match(value):
            return value
    return form.get("Body", "") or form.get("ButtonText", "") or form.get("ListTitle", "")

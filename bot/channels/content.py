"""Twilio's Content API: WhatsApp buttons and lists for replies that offer choices.

A reply with up to 3 options becomes a `twilio/quick-reply` (each title at most 20
characters), up to 10 a `twilio/list-picker` (each item at most 24); anything else
stays numbered text. Each item also carries `twilio/text`, the numbered text itself,
for a device that cannot show it. Every option's id is the answer it stands for
("1", "0"), so a tap comes back as exactly that digit (bot/channels/buttons.py).

Items are created once per text version: the definition's SHA-256 is the key of the
cache table (models.whatsapp.ContentItem), looked up before any request to Twilio.
"""
from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass

import requests
from sqlalchemy import select
from sqlalchemy.orm import Session
from twilio.base.exceptions import TwilioException

from flows.catalog import t
from flows.options import Choices
from models import ContentItem

log = logging.getLogger(__name__)
CONTENT_URL = "https://content.twilio.com/v1/Content"  # rewritten by TWILIO_API_BASE_URL
QUICK_REPLY, LIST_PICKER = "twilio/quick-reply", "twilio/list-picker"
MAX_BUTTONS, BUTTON_TITLE = 3, 20
MAX_ITEMS, ITEM_TITLE = 10, 24
MAX_BODY = 1024


class ContentError(Exception):
    """The Content API refused or could not be reached: the reply goes as numbered text."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status  # Twilio's HTTP status; None when it did not answer


@dataclass(frozen=True)
class Definition:
    """One Content API item as Chaski would create it, and its cache key."""

    kind: str
    language: str
    payload: dict

    @property
    def digest(self) -> str:
        """Return the SHA-256 of the definition: one per text version."""
        meaning = {k: v for k, v in self.payload.items() if k != "friendly_name"}
        canonical = json.dumps(meaning, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()


def kind_for(choices: Choices) -> str | None:
    """Return the Content type that can show these choices, or None (numbered text)."""
    labels = [o.label for o in choices.options]
    if not labels or len(choices.prompt) > MAX_BODY:
        return None
    if len(labels) <= MAX_BUTTONS and all(len(label) <= BUTTON_TITLE for label in labels):
        return QUICK_REPLY
    if len(labels) <= MAX_ITEMS and all(len(label) <= ITEM_TITLE for label in labels):
        return LIST_PICKER
    return None


def definition(choices: Choices, language: str) -> Definition | None:
    """Return the Content item that shows `choices` in `language`, or None when none fits."""
    kind = kind_for(choices)
    if kind is None:
        return None
    if kind == QUICK_REPLY:
        body = {"body": choices.prompt,
                "actions": [{"title": o.label, "id": o.answer} for o in choices.options]}
    else:
        body = {"body": choices.prompt, "button": t("list_button", language),
                "items": [{"item": o.label, "id": o.answer, "description": ""}
                          for o in choices.options]}
    types = {kind: body, "twilio/text": {"body": str(choices)}}
    payload = {"language": language, "variables": {}, "types": types}
    found = Definition(kind, language, payload)
    short = kind.split("/")[1].replace("-", "_")
    payload["friendly_name"] = f"chaski_{short}_{language}_{found.digest[:12]}"
    return found


def cached(session: Session, digest: str) -> str | None:
    """Return the ContentSid already created for this definition, if any."""
    return session.scalar(select(ContentItem.content_sid).where(ContentItem.digest == digest))


def create(client, item: Definition) -> str:
    """Create the item through the Content API; return its ContentSid or raise ContentError."""
    response = _request(client, "POST", CONTENT_URL, data=item.payload,
                        headers={"Content-Type": "application/json", "Accept": "application/json"})
    sid = response.get("sid") or ""
    if not sid.startswith("HX"):
        raise ContentError(f"Content API answered without a ContentSid: {response!r:.200}")
    log.info("created Content item %s (%s, %s)", sid, item.kind, item.language)
    return sid


def fetch(client, content_sid: str) -> dict:
    """Return the Content API's record of `content_sid` (its types, language...)."""
    return _request(client, "GET", f"{CONTENT_URL}/{content_sid}")


def _request(client, method: str, url: str, **kwargs) -> dict:
    if client is None:
        raise ContentError("Twilio credentials missing: no Content API")
    try:
        response = client.request(method, url, **kwargs)
    except (requests.RequestException, TwilioException) as exc:
        raise ContentError(f"Content API unreachable: {exc}") from exc
    try:
        answer = json.loads(response.text or "{}")
    except ValueError:
        answer = {}
    if not 200 <= response.status_code < 300:
        raise ContentError(f"Content API HTTP {response.status_code}: "
                           f"{answer.get('code')} {answer.get('message')}", response.status_code)
    return answer


def row(item: Definition, content_sid: str, now) -> dict:
    """Return the cache row of a created item (inserted with the turn's other writes)."""
    return dict(digest=item.digest, content_sid=content_sid, kind=item.kind,
                language=item.language, friendly_name=item.payload["friendly_name"][:64],
                created_at=now)

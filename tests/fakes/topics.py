"""Helpers for the price and climate tests: real imports, a scripted NLU, a fixed clock."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from bot.conversations.engine import Engine, Inbound
from bot.services import services
from nlu import rules
from nlu.classifier import Parse
from tests.fakes.signing import FAKE_PHONE

DATA = Path(__file__).resolve().parents[1] / "data"
NOW = datetime(2026, 11, 22, 15, 0, tzinfo=timezone.utc)  # 10:00 in Lima


class ScriptedClassifier:
    """Rules first, like the real classifier; then the parse the test scripted for the text."""

    def __init__(self):
        self.script: dict[str, Parse] = {}

    def classify(self, text: str) -> Parse:
        hit = rules.match(text)
        if hit:
            return Parse(text, hit.intent, 1.0, source="rule", rule=hit.kind, digit=hit.digit)
        return self.script.get(text, Parse(text, "out_of_scope", 0.3, low_confidence=True))


def cli(app, *args):
    """Run a flask command in-process; return the Click result."""
    return app.test_cli_runner().invoke(args=[str(a) for a in args])


@pytest.fixture
def ask(app):
    """Return ask(text, intent=None, phone=..., channel="sms", now=NOW, **entities) -> replies."""
    classifier = ScriptedClassifier()
    engine = Engine(services(app).db, classifier)

    def _ask(text, intent=None, phone=FAKE_PHONE, channel="sms", now=NOW, **entities):
        if intent:
            classifier.script[text] = Parse(text, intent, 0.95, entities)
        return engine.handle(Inbound(address=phone, body=text, channel=channel), now=now).replies

    return _ask

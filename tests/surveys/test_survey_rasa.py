"""A survey with the real Rasa server: another request after a re-ask leaves the survey,
a model-heard stop is never filed as an answer, "ya pues" answers a yes/no question."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.surveys import service as surveys
from bot.conversations.engine import Inbound
from bot.services import services
from models import Contact, SurveyAnswer, SurveyParticipant, utcnow
from tests.conftest import _empty_tables, make_app
from tests.surveys.test_surveys import SAMPLE

pytestmark = pytest.mark.rasa
PHONES = ["+51900000041", "+51900000042"]  # FAKE test numbers


@pytest.fixture
def nlu_app(database_url, rasa_url):
    app = make_app(database_url, NLU_URL=rasa_url)
    _empty_tables(services(app).db)
    now = utcnow()
    with services(app).db.session() as s:
        s.add_all([Contact(phone=p, channels=["sms"], language="es", region="junin", profile={},
                           consent_at=now) for p in PHONES])
        s.flush()
        surveys.send(s, surveys.load(s, SAMPLE, now)[0], {}, now)
    yield app
    services(app).db.dispose()


def say(app, phone: str, body: str) -> str:
    return services(app).engine.handle(Inbound(address=phone, body=body)).replies[0]


def status(app, phone: str) -> str:
    with services(app).db.session() as s:
        return s.scalar(select(SurveyParticipant.status).join(Contact).where(Contact.phone == phone))


def test_a_price_question_after_a_re_ask_leaves_the_survey_and_is_answered(nlu_app):
    assert say(nlu_app, PHONES[0], "cuanto sta la papa en huancayo").startswith("No entendi")
    second = say(nlu_app, PHONES[0], "cuanto sta la papa en huancayo")
    assert not second.startswith(("No entendi", "Pasamos", "2/4"))
    assert status(nlu_app, PHONES[0]) == "left"


def test_model_heard_yes_and_stop(nlu_app):
    say(nlu_app, PHONES[1], "1")
    say(nlu_app, PHONES[1], "200")
    assert say(nlu_app, PHONES[1], "ya pues").startswith("4/4")
    with services(nlu_app).db.session() as s:
        assert s.scalar(select(SurveyAnswer.value).where(SurveyAnswer.question_key == "usa_biol")) == "si"
    say(nlu_app, PHONES[1], "ya no quiero que me manden nada de esto")
    assert status(nlu_app, PHONES[1]) == "left"  # asked to confirm the stop; not a comment
    with services(nlu_app).db.session() as s:
        assert s.scalar(select(SurveyAnswer).where(SurveyAnswer.question_key == "comentario")) is None

"""Through the real Rasa server: farming questions the base cannot answer reach the inbox, grouped."""
from __future__ import annotations

import pytest

from bot.services import services
from bot.topics import unanswered
from tests.conftest import _empty_tables, make_app

pytestmark = pytest.mark.rasa
PARAPHRASES = ["como cuido mis colmenas de abejas", "colmenas de abejas como las cuido",
               "mis abejas como las cuido en la colmena"]


@pytest.fixture
def nlu_app(database_url, rasa_url):
    app = make_app(database_url, NLU_URL=rasa_url)
    _empty_tables(services(app).db)
    yield app
    services(app).db.dispose()


def test_unmatched_farming_questions_are_grouped_in_the_inbox(nlu_app):
    engine = services(nlu_app).engine
    from bot.conversations.engine import Inbound

    for n, text in enumerate(PARAPHRASES):
        outcome = engine.handle(Inbound(f"+5190000009{n}", text))
        assert outcome.flow == "agroecology" and "Elige un numero" in outcome.replies[0], outcome
    engine.handle(Inbound("+51900000095", "cuanto sta la papa en huancayo"))  # not farming practice
    with services(nlu_app).db.session() as session:
        groups = unanswered.open_groups(session)
        assert [len(g.questions) for g in groups] == [3]
        assert groups[0].people == 3 and {q.reason for q in groups[0].questions} == {"unmatched"}

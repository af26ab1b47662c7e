"""Through the real Rasa server: asking for tips subscribes to the agroecological calendar."""
import pytest
from sqlalchemy import select

from bot.services import services
from models import Subscription
from tests.conftest import _empty_tables, make_app
from tests.fakes.signing import inbound_form, new_sid, post_signed

pytestmark = pytest.mark.rasa


def test_asking_for_monthly_tips_through_the_model_records_a_calendar_subscription(
        database_url, rasa_url):
    app = make_app(database_url, NLU_URL=rasa_url)
    _empty_tables(services(app).db)
    client = app.test_client()
    replies = [post_signed(client, "/webhooks/twilio", inbound_form(text, sid=new_sid()))
               .get_data(as_text=True)
               for text in ("quiero que me manden consejos para mi chacra", "si", "1", "junin")]
    assert "un consejo agroecologico cada mes para Junin" in replies[-1]
    with services(app).db.session() as s:
        sub = s.scalar(select(Subscription))
        assert (sub.kind, sub.region) == ("calendar", "junin")
    services(app).db.dispose()

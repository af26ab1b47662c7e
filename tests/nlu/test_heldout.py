"""CI gate: the held-out set through the webhook's path must meet the issue's targets."""
import pytest

from nlu.evaluate import evaluate_url

pytestmark = pytest.mark.rasa


@pytest.fixture(scope="module")
def report(rasa_url):
    return evaluate_url(rasa_url)


def test_intent_accuracy_on_messages_never_trained_on(report):
    assert report.accuracy >= 0.95, report.format()


def test_every_cry_for_help_and_every_stop_is_recognised(report):
    assert report.recall("gbv_support") == 1.0, report.format()
    assert report.recall("opt_out") == 1.0, report.format()


def test_product_and_location_found_in_price_questions(report):
    product, n_product = report.entity_accuracy("product")
    location, n_location = report.entity_accuracy("location")
    assert n_product >= 40 and n_location >= 35
    assert product >= 0.90 and location >= 0.90, report.format()

"""CI gate: both held-out sets through the webhook's path must meet issue 15's targets.

The same figures are printed by ``make nlu-eval`` (nlu/evaluate.py), with the
confusion pairs and every misclassified message.
"""
import pytest

from nlu.evaluate import HELDOUT_FILES, evaluate_all, gates_summary

pytestmark = pytest.mark.rasa


@pytest.fixture(scope="module")
def reports(rasa_url):
    return evaluate_all(rasa_url)


@pytest.fixture(scope="module")
def summary(reports):
    return gates_summary(reports) + "\n\n" + "\n\n".join(r.format() for r in reports)


def test_both_held_out_sets_are_measured(reports):
    assert [r.name for r in reports] == [p.name for p in HELDOUT_FILES]
    assert len(reports[1].cases) >= 400


def test_intent_accuracy_on_messages_never_trained_on(reports, summary):
    for report in reports:
        assert report.accuracy >= 0.95, summary


def test_every_cry_for_help_and_every_stop_is_recognised(reports, summary):
    for report in reports:
        assert report.recall("gbv_support") == 1.0, summary
        assert report.recall("opt_out") == 1.0, summary


def test_few_false_violence_alarms_on_other_messages(reports, summary):
    for report in reports:
        assert report.false_alarm_rate("gbv_support") <= 0.01, summary


def test_product_and_location_found_in_price_questions(reports, summary):
    for report in reports:
        product, n_product = report.entity_accuracy("product")
        location, n_location = report.entity_accuracy("location")
        assert n_product >= 40 and n_location >= 35
        assert product >= 0.95 and location >= 0.95, summary

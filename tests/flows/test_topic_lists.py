"""A long topic list pages with 'Más temas'; every page fits two SMS segments."""
from __future__ import annotations

from dataclasses import replace

from flows import knowledge
from flows.base import ContactView, Ctx, State
from flows.gsm7 import segment_count, to_gsm7
from flows.router import respond
from nlu import rules
from nlu.classifier import Parse
from tests.flows.test_flows import NOW


def big_base() -> knowledge.KnowledgeBase:
    seed = knowledge.seed_knowledge_base()
    model = seed.topics["biol"]
    topics = [replace(model, id=f"tema_{n:02d}", title=f"Tema de prueba numero {n} con titulo largo",
                      keywords=(f"palabraclave{n}",)) for n in range(1, 26)]
    return knowledge.build([("abonos", "Abonos")], topics)


def turn(kb, text, state=None):
    hit = rules.match(text)
    parse = (Parse(text, hit.intent, 1.0, source="rule", rule=hit.kind, digit=hit.digit) if hit
             else Parse(text, "out_of_scope", 0.9))
    return respond(Ctx(ContactView(), "sms", text, parse, state, NOW, kb=kb))


def test_a_long_list_pages_and_every_topic_is_reachable():
    kb = big_base()
    listing = turn(kb, "1", state=State("agroecology", "category", {"options": ["abonos"]}))
    seen = []
    while True:
        text = listing.replies[0]
        assert segment_count(to_gsm7(text)) <= 2, text
        options = listing.state.data["options"]
        seen += [o for o in options if o != "+"]
        if "+" not in options:
            assert text.splitlines()[-1] == f"{len(options) + 1} Hablar con alguien"
            break
        assert f"{options.index('+') + 1} Más temas" in text
        listing = turn(kb, str(options.index("+") + 1), state=listing.state)
    assert seen == list(kb.topics) and len(seen) == 25
    answer = turn(kb, "1", state=listing.state)
    assert answer.state.data["topic"] == seen[-len(listing.state.data["options"])]

"""Unanswered questions: the once-a-day rating, what reaches the inbox, grouping, weekly figures."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from bot.outbound.policy import RefusedTopic, check_topic
from bot.topics import unanswered
from models import Contact, UnansweredQuestion

NOON = datetime(2026, 3, 10, 17, 0, tzinfo=timezone.utc)  # 12:00 in Lima
ASK = "¿Te sirvió? 1 Sí 0 No"


def questions(db) -> list[UnansweredQuestion]:
    with db.session() as s:
        return list(s.scalars(select(UnansweredQuestion).order_by(UnansweredQuestion.id)))


def test_the_rating_is_asked_once_a_day_and_a_0_reaches_the_inbox(talk, db, clock):
    clock(NOON)
    phone = "+51900000061"
    first = talk("como preparo biol", phone=phone)
    assert first[0].startswith("El biol es") and first[-1] == "¿Te sirvio? 1 Si 0 No"
    assert talk("0", phone=phone) == ["Gracias. Un técnico revisara tu pregunta y te podra escribir."]
    again = talk("como hago bocashi", phone=phone)
    assert len(again) == 1 and "Te sirvio" not in again[0]  # once a day
    assert talk("0", phone=phone)[0].startswith("Chaski. Responde con un numero")  # 0 is MENU again
    [question] = questions(db)
    assert (question.text, question.reason, question.topic_id) == ("como preparo biol", "unhelpful", "biol")
    clock(NOON + timedelta(days=1))
    assert talk("como hago bocashi", phone=phone)[-1] == "¿Te sirvio? 1 Si 0 No"
    assert talk("1", phone=phone) == ["Gracias por responder."]
    assert len(questions(db)) == 1
    with db.session() as s:
        contact = s.scalar(select(Contact).where(Contact.phone == phone))
        assert contact.profile["feedback_asked"] == "2026-03-11"


def test_violence_words_go_to_support_even_beside_land_rights_words(talk, db):
    reply = talk("mi esposo me pega y no me deja tener mi terreno", phone="+51900000062")[0]
    assert "105" in reply and "Linea 100" in reply.replace("Línea", "Linea")
    assert questions(db) == []


def test_womens_rights_are_never_sent_unasked():
    for topic in ("derechos", "DERECHOS"):
        with pytest.raises(RefusedTopic):
            check_topic(topic)
    check_topic("precios")


def _q(text, contact_id, day, status="open"):
    return UnansweredQuestion(id=None, contact_id=contact_id, text=text, reason="unmatched",
                              status=status, created_at=NOON + timedelta(days=day))


def test_paraphrases_are_one_group_with_counts():
    rows = [_q("como cuido mis colmenas de abejas", 1, 0), _q("mis abejas dejan la colmena", 2, 0),
            _q("colmenas de abejas como las cuido", 3, 1), _q("que hago con mi tractor malogrado", 4, 1),
            _q("abejas colmenas cuido como", 1, 2)]
    groups = unanswered.group(rows)
    assert [len(g.questions) for g in groups] == [4, 1]
    assert groups[0].people == 3 and groups[0].phrasings == ["como cuido mis colmenas de abejas",
                                                             "mis abejas dejan la colmena"]
    assert groups[1].first.text == "que hago con mi tractor malogrado"


def test_the_dashboard_counts_groups_per_week_and_those_turned_into_topics(db, clock):
    clock(NOON)
    with db.session() as s:
        contact = Contact(phone="+51900000063", channels=["sms"], profile={})
        s.add(contact)
        s.flush()
        for text, day, status in [("abejas colmena cuido", -7, "topic"),
                                  ("como cuido colmenas abejas", -7, "topic"),
                                  ("tractor malogrado", -6, "out_of_scope"),
                                  ("tractor malogrado", 0, "open")]:
            s.add(UnansweredQuestion(contact_id=contact.id, text=text, reason="unmatched", status=status,
                                     created_at=NOON + timedelta(days=day)))
    with db.session() as s:
        weeks = unanswered.weekly(s, NOON)
    assert [(w["groups"], w["questions"], w["topics"]) for w in weeks[-2:]] == [(2, 3, 1), (1, 1, 0)]

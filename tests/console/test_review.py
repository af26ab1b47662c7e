"""Review inbox, corrections, and the export to Rasa training data (checked by Rasa's loader)."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from bot.training.export import annotate, clean_text, fold, load_synonyms, parse_entities
from models import REDACTED, Message, Review
from tests.console.conftest import FARMER_PHONE, VIOLENT_PHONE, csrf_token

ROOT = Path(__file__).resolve().parents[2]
NLU_PYTHON = ROOT / ".venv-nlu" / "bin" / "python"
RASA_LOAD = """
import json, sys
from rasa.shared.nlu.training_data.loading import load_data
data = load_data(sys.argv[1])
print(json.dumps([{"text": m.get("text"), "intent": m.get("intent"),
                   "entities": [{k: e[k] for k in ("entity", "value", "start", "end")}
                                for e in m.get("entities") or []]}
                  for m in data.intent_examples]))
"""

# A query SQLAlchemy warns about (e.g. an accidental cartesian product) fails the test.
pytestmark = pytest.mark.filterwarnings("error::sqlalchemy.exc.SAWarning")


def inbox_message(db, text: str) -> int:
    with db.session() as s:
        return s.scalar(select(Message.id).where(Message.body == text, Message.direction == "in"))


def review(client, message_id: int, intent: str, entities: str = ""):
    return client.post(f"/console/revision/{message_id}", data={
        "intent": intent, "entities": entities,
        "csrf_token": csrf_token(client, "/console/revision")})


def test_the_inbox_lists_unsure_messages_but_never_restricted_ones(as_role, conversations, talk):
    talk("quien canta esa cancion", phone="+51900000013")
    talk("2", phone="+51900000013")
    html = as_role("reviewer").get("/console/revision").get_data(as_text=True)
    assert "cuanto sta la papa en huancayo" in html and "quien canta esa cancion" in html
    assert 'class="body">2</td>' not in html  # a menu digit caught by the rules is not unsure
    assert "redactado" not in html and VIOLENT_PHONE not in html


def test_a_correction_is_stored_and_leaves_the_inbox(as_role, conversations, db, talk):
    # With the model down, the lookups took a farming question for a price question.
    talk("quiero sembrar papa en huancayo", phone=FARMER_PHONE)
    client = as_role("reviewer")
    message_id = inbox_message(db, "quiero sembrar papa en huancayo")
    response = review(client, message_id, "ask_agroecology", "product=papa, location=Huancayo")
    assert response.status_code == 302
    with db.session() as s:
        row = s.scalar(select(Review).where(Review.message_id == message_id))
        assert (row.status, row.old_intent, row.intent) == ("corrected", "ask_price", "ask_agroecology")
        assert row.entities == {"product": "papa", "location": "huancayo"}
    html = client.get("/console/revision").get_data(as_text=True)
    assert "Corrección guardada" in html
    inbox = html.split("Últimas revisiones")[0]
    assert "quiero sembrar papa en huancayo" not in inbox


def test_a_guess_made_while_the_model_was_down_can_be_confirmed(as_role, conversations, db):
    client = as_role("reviewer")
    message_id = inbox_message(db, "cuanto sta la papa en huancayo")  # in the inbox: no model saw it
    review(client, message_id, "ask_price", "product=papa, location=Huancayo")
    with db.session() as s:
        row = s.scalar(select(Review).where(Review.message_id == message_id))
        assert (row.status, row.old_intent, row.intent) == ("confirmed", "ask_price", "ask_price")
    assert "Intención confirmada" in client.get("/console/revision").get_data(as_text=True)


def test_an_entity_missing_from_the_text_is_refused(as_role, conversations, db):
    client = as_role("reviewer")
    message_id = inbox_message(db, "cuanto sta la papa en huancayo")
    review(client, message_id, "ask_price", "product=quinua")
    assert "no aparece en el mensaje" in client.get("/console/revision").get_data(as_text=True)
    review(client, message_id, "ask_price", "color=rojo")
    assert "entidad desconocida" in client.get("/console/revision").get_data(as_text=True)
    with db.session() as s:
        assert s.scalar(select(Review)) is None


def test_a_message_corrected_to_violence_is_redacted_and_restricted(as_role, conversations, db):
    client = as_role("reviewer")
    message_id = inbox_message(db, "cuanto sta la papa en huancayo")
    review(client, message_id, "gbv_support")
    with db.session() as s:
        message = s.get(Message, message_id)
        assert message.body is None and message.redacted
        assert s.scalar(select(Review.text)) == REDACTED
    assert client.get(f"/console/contactos/{conversations[FARMER_PHONE]}").status_code == 404
    assert as_role("counsellor").get(
        f"/console/contactos/{conversations[FARMER_PHONE]}").status_code == 200


def test_counsellors_and_coordinators_cannot_review(as_role, conversations, db):
    message_id = inbox_message(db, "cuanto sta la papa en huancayo")
    for role in ("counsellor", "coordinator"):
        client = as_role(role)
        token = csrf_token(client, "/console/")
        assert client.post(f"/console/revision/{message_id}",
                           data={"intent": "greet", "csrf_token": token}).status_code == 403


def test_entity_annotation_finds_synonyms_and_accents():
    synonyms = load_synonyms()
    assert annotate("a cuanto la papita en Huancayo", {"product": "papa", "location": "huancayo"},
                    synonyms) == ('a cuanto la [papita]{"entity": "product", "value": "papa"} en '
                                  '[Huancayo]{"entity": "location", "value": "huancayo"}')
    assert annotate("precio del chuño", {"product": "chuno"}, synonyms) == \
        'precio del [chuño]{"entity": "product", "value": "chuno"}'
    assert annotate("precio de papa", {"product": "papa"}, synonyms) == "precio de [papa](product)"
    assert clean_text(" hola [x](product)\n mama ") == "hola (x)(product) mama"
    assert fold("Ñuñoa ÁREA") == "nunoa area"
    assert parse_entities("product=Papa; location = Juliaca") == {"product": "papa",
                                                                   "location": "juliaca"}
    with pytest.raises(ValueError):
        parse_entities("papa")


def export(app, out: Path) -> str:
    result = app.test_cli_runner().invoke(args=["export-training", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return result.output


def test_export_writes_rasa_yaml_once_per_text_without_violence(console_app, as_role,
                                                                conversations, db, talk, tmp_path):
    client = as_role("reviewer")
    talk("la papita sta cara en Huancayo?", phone="+51900000014")
    talk("q cancion suena en la radio ahorita", phone="+51900000015")
    talk("Q  cancion suena en la radio ahorita", phone="+51900000016")  # the same, written apart
    talk("mi marido me trata mal y tengo miedo", phone="+51900000017")  # the rules miss it
    talk("hola", phone="+51900000018")
    # Already in nlu/data/prices.yml (annotated): not exported again.
    review(client, inbox_message(db, "cuanto sta la papa en huancayo"), "ask_price",
           "product=papa, location=huancayo")
    review(client, inbox_message(db, "la papita sta cara en Huancayo?"), "ask_price",
           "product=papa, location=huancayo")
    review(client, inbox_message(db, "q cancion suena en la radio ahorita"), "out_of_scope")
    review(client, inbox_message(db, "Q  cancion suena en la radio ahorita"), "out_of_scope")
    missed = inbox_message(db, "mi marido me trata mal y tengo miedo")
    assert missed is not None
    review(client, missed, "gbv_support")
    with db.session() as s:
        corrected = s.get(Message, missed)
        assert corrected.body is None and corrected.redacted  # redacted as soon as corrected
    with db.session() as s:  # a greeting a reviewer confirmed: already in nlu/data
        hello = s.scalar(select(Message).where(Message.body == "hola", Message.direction == "in")
                         .limit(1))
        s.add(Review(message_id=hello.id, status="confirmed", text="hola", intent="greet",
                     entities={}))
    out = tmp_path / "data"
    output = export(console_app, out)
    assert "wrote 2 examples" in output and "2 already in the training data" in output
    path = out / "reviewed.yml"
    first = path.read_text(encoding="utf-8")
    assert "miedo" not in first and "gbv_support" not in first and "hola" not in first
    assert export(console_app, out) and path.read_text(encoding="utf-8") == first  # idempotent
    doc = yaml.safe_load(first)
    assert [item["intent"] for item in doc["nlu"]] == ["ask_price", "out_of_scope"]

    parsed = subprocess.run([str(NLU_PYTHON), "-c", RASA_LOAD, str(path)], capture_output=True,
                            text=True, timeout=300, check=True)
    examples = sorted(json.loads(parsed.stdout.strip().splitlines()[-1]),
                      key=lambda e: e["text"])
    assert [(e["text"], e["intent"]) for e in examples] == [
        ("Q cancion suena en la radio ahorita", "out_of_scope"),
        ("la papita sta cara en Huancayo?", "ask_price"),
    ]
    assert examples[1]["entities"] == [
        {"entity": "product", "value": "papa", "start": 3, "end": 9},
        {"entity": "location", "value": "huancayo", "start": 22, "end": 30}]


def test_the_export_button_writes_the_file_and_is_audited(console_app, as_role, conversations,
                                                          db, talk, tmp_path):
    client = as_role("reviewer")
    talk("a como sta la papa en sicuani", phone="+51900000014")
    review(client, inbox_message(db, "a como sta la papa en sicuani"), "ask_price",
           "product=papa")
    response = client.post("/console/revision/exportar",
                           data={"csrf_token": csrf_token(client, "/console/revision")},
                           follow_redirects=True)
    assert "Exportados 1 ejemplos" in response.get_data(as_text=True)
    text = (tmp_path / "data" / "reviewed.yml").read_text(encoding="utf-8")
    assert "- a como sta la [papa](product) en sicuani" in text
    from models import AuditLog

    with db.session() as s:
        assert s.scalar(select(AuditLog.action).where(AuditLog.action == "export_training"))
        assert s.scalar(select(Review.exported_at)) is not None


def test_create_user_command(console_app, db):
    runner = console_app.test_cli_runner()
    result = runner.invoke(args=["create-user", "--email", "Ana@Chaski.test", "--role",
                                 "counsellor", "--password-stdin"], input="una-clave-larga\n")
    assert result.exit_code == 0, result.output
    again = runner.invoke(args=["create-user", "--email", "ana@chaski.test", "--role", "admin",
                                "--password-stdin"], input="otra-clave-larga\n")
    assert again.exit_code == 1 and "ya existe" in again.output
    short = runner.invoke(args=["create-user", "--email", "b@chaski.test", "--role", "admin",
                                "--password-stdin"], input="corta\n")
    assert short.exit_code == 1 and "al menos 10" in short.output
    prompted = runner.invoke(args=["create-user", "--email", "c@chaski.test", "--role",
                                   "reviewer"], input="una-clave-larga\nuna-clave-larga\n")
    assert prompted.exit_code == 0, prompted.output
    from tests.console.conftest import sign_in

    client = console_app.test_client()
    assert sign_in(client, "ana@chaski.test", "una-clave-larga").status_code == 302


def test_a_correction_says_how_many_alike_messages_the_bot_read_otherwise(as_role, conversations,
                                                                          db, talk):
    for phone in ("+51900000081", "+51900000082", "+51900000083"):  # FAKE numbers
        talk("quiero sembrar papa en huancayo", phone=phone)  # read as a price question
    talk("quiero sembrar papa en huancayo ahora", phone="+51900000084")
    talk("sembrar", phone="+51900000085")  # too little in common
    client = as_role("reviewer")
    message_id = inbox_message(db, "quiero sembrar papa en huancayo")
    review(client, message_id, "ask_agroecology", "")
    html = client.get("/console/revision").get_data(as_text=True)
    recent = html.split("Últimas revisiones")[1]
    assert "3 mensajes parecidos" in recent  # two the same, one with a word more
    review(client, inbox_message(db, "cuanto sta la papa en huancayo"), "ask_price",
           "product=papa, location=Huancayo")  # a confirmation: nothing to count
    recent = client.get("/console/revision").get_data(as_text=True).split("Últimas revisiones")[1]
    assert recent.count("parecido") == 1

"""The CLI commands the README documents, through Flask's runner and as real subprocesses."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from models import Contact
from tests.conftest import closed_port_url, make_app

ROOT = Path(__file__).resolve().parent.parent
FLASK = [sys.executable, "-m", "flask", "--app", "server"]


def test_chat_piped_prints_each_turn(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["chat", "--phone", "+51900000001"],
                           input="hola\nblablabla\n1\nBAJA\nhola\n")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "> hola"
    assert lines[1].startswith("< ¡Hola, soy Chaski!")  # no NLU server in this test: keywords
    blabla = lines.index("> blablabla")
    assert lines[blabla + 1].startswith("< Ahora solo puedo leer numeros.")
    assert "> BAJA" in lines and any("envia ALTA" in line for line in lines)
    assert lines[-1] == "< No recibes mensajes de Chaski. Para volver, envia ALTA.  [1 SMS]"
    assert "no NLU server answers" in result.stderr


def test_chat_whatsapp_keeps_unicode(app):
    result = app.test_cli_runner().invoke(
        args=["chat", "--phone", "+51900000002", "--channel", "whatsapp"], input="hola\n")
    assert "número" in result.output and "[1 SMS]" not in result.output


def test_chat_rejects_a_bad_phone(app):
    result = app.test_cli_runner().invoke(args=["chat", "--phone", "abc"], input="hola\n")
    assert result.exit_code == 2 and "not a phone number" in result.output


def test_nlu_classify_uses_the_rules_when_the_server_is_down(app):
    result = app.test_cli_runner().invoke(args=["nlu-classify"],
                                          input="STOP\n4\nme quiere matar\ncuanto sta la papa\n"
                                                "quien canta esa cancion\n")
    assert result.exit_code == 0
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["intent"] for r in rows] == ["opt_out", "gbv_support", "gbv_support", "ask_price",
                                           "out_of_scope"]
    assert rows[0] == {"text": "STOP", "intent": "opt_out", "confidence": 1.0, "entities": {},
                       "source": "rule"}
    assert rows[3]["source"] == "fallback" and rows[3]["entities"] == {"product": "papa"}
    assert rows[4]["source"] == "unavailable" and rows[4]["confidence"] == 0.0
    assert "does not answer" in result.stderr


def test_load_demo_is_idempotent(app, db):
    runner = app.test_cli_runner()
    assert "contacts_created': 4" in runner.invoke(args=["load-demo"]).output
    again = runner.invoke(args=["load-demo"]).output
    assert "contacts_created': 0" in again and "'survey': 'unchanged'" in again
    assert "'survey_siembra': 'unchanged'" in again
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Contact)) == 4


@pytest.mark.parametrize("command", ["chat", "nlu-classify", "train-nlu", "migrate", "load-demo",
                                     "scheduler", "import-prices", "import-alerts"])
def test_every_command_has_help(app, command):
    result = app.test_cli_runner().invoke(args=[command, "--help"])
    assert result.exit_code == 0 and len(result.output.splitlines()[2]) > 10


def test_real_flask_command_migrates_and_chats(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite'}",
           "NLU_URL": "http://127.0.0.1:9", "SECRET_KEY": "x"}
    not_migrated = subprocess.run([*FLASK, "chat", "--phone", "+51900000003"], input="hola\n",
                                  capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert not_migrated.returncode == 1 and "not migrated" in not_migrated.stderr
    subprocess.run([*FLASK, "migrate"], check=True, capture_output=True, cwd=ROOT, env=env,
                   timeout=120)
    chat = subprocess.run([*FLASK, "chat", "--phone", "+51900000003"], input="hola\n0\n",
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert chat.returncode == 0, chat.stderr
    assert chat.stdout.count("1 Precios") == 2


def test_a_database_that_does_not_answer_is_not_called_unmigrated():
    down = closed_port_url().replace("http://", "postgresql://postgres@") + "/chaski"
    result = make_app(down).test_cli_runner().invoke(args=["sender", "--once"])
    assert result.exit_code == 1
    assert "the database does not answer" in result.output and "not migrated" not in result.output

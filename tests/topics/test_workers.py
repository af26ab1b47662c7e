"""A published edit answers the next message in every gunicorn worker (real processes, one database)."""
from __future__ import annotations

import subprocess
import time
import urllib.parse
import urllib.request

from bot.db import Database, migrate
from bot.topics import store
from models import utcnow
from nlu.server import free_port
from tests.deploy.conftest import ROOT
from tests.deploy.test_gunicorn import CONFIG, GUNICORN, gunicorn_env
from tests.fakes.signing import inbound_form, signature
from tests.fakes.twilio_api import FAKE_AUTH_TOKEN
from tests.topics.conftest import ANA, BETO

NEW_SMS = "Biol editado en la consola: lo responde cada proceso."


def ask(base: str, n: int, text: str) -> str:
    url = f"{base}/webhooks/twilio"
    form = inbound_form(text, sid=f"SM{n:032d}", phone=f"+519000001{n:02d}")
    request = urllib.request.Request(url, data=urllib.parse.urlencode(form).encode(),
                                     headers={"X-Twilio-Signature": signature(url, form)})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.read().decode()


def test_every_worker_answers_the_published_edit_at_the_next_message(tmp_path):
    url = f"sqlite:///{tmp_path / 'web.sqlite'}"
    migrate(url)
    db = Database(url)
    with db.session() as session:
        store.ensure_seeded(session, utcnow())
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = gunicorn_env(tmp_path, PORT=str(port), DATABASE_URL=url, WEB_WORKERS="2", WEB_THREADS="1",
                       TWILIO_AUTH_TOKEN=FAKE_AUTH_TOKEN, PUBLIC_URL=base)
    proc = subprocess.Popen([str(GUNICORN), "-c", CONFIG, "server:app"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/livez", timeout=2).close()
                break
            except OSError:
                assert time.monotonic() < deadline and proc.poll() is None, "gunicorn did not start"
                time.sleep(0.2)
        before = [ask(base, n, "como preparo biol") for n in range(8)]  # both workers load the copy
        assert all("El biol es" in reply for reply in before), before
        with db.session() as session:
            content = dict(store.latest(session, "biol", "published").content)
            content["sms"] = NEW_SMS
            draft = store.save_draft(session, content, "abonos", ANA, utcnow())
            store.publish(session, draft.id, BETO, utcnow())
        after = [ask(base, n, "como preparo biol") for n in range(8, 20)]
        assert all(NEW_SMS in reply for reply in after), after
    finally:
        proc.terminate()
        output = proc.communicate(timeout=30)[0]
        db.dispose()
    assert output.count("Booting worker") == 2, output

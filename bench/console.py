"""Time the console's pages on a database of 100,000+ messages.

Seeds N messages (default 100,000) over 90 days for 10,000 fake contacts, 2 %
of them with a violence conversation, then times GET requests through Flask's
test client (no network) for a reviewer (who needs the restricted-contact
exclusion) and a counsellor, on the list page with and without filters, the
review inbox, a thread and the dashboard.

Usage: .venv/bin/python bench/console.py [--url postgresql://...] [--n 100000] [--repeat 5]
Without --url it uses a fresh SQLite file. The database at --url is emptied first.
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, text  # noqa: E402
from werkzeug.security import generate_password_hash  # noqa: E402

from bot import create_app  # noqa: E402
from bot.db import reset_schema  # noqa: E402
from bot.services import services  # noqa: E402
from models import Contact, Message, User, utcnow  # noqa: E402

INTENTS = ["greet", "ask_price", "ask_climate", "ask_agroecology", "out_of_scope", "help",
           "thanks", "subscribe"]
REGIONS = ["Puno", "Cusco", "Junín", "Ancash", "Piura", "Arequipa", "Huancavelica", "Lima"]
WORDS = "papa quinua helada precio mercado huancayo juliaca abono biol lluvia cuanto sta".split()


def seed(db, n: int, contacts: int = 10_000, seed_value: int = 6) -> None:
    rng = random.Random(seed_value)
    now = utcnow()
    with db.engine.begin() as conn:
        conn.execute(insert(Contact), [
            {"id": i + 1, "phone": f"+51900{i:06d}", "channels": ["sms"], "language": "es",
             "region": rng.choice(REGIONS), "profile": {}, "created_at": now,
             "last_inbound_at": now - timedelta(days=rng.randint(0, 60))}
            for i in range(contacts)])
        violent = set(rng.sample(range(1, contacts + 1), contacts // 50))
        batch = []
        for i in range(n):
            contact = rng.randint(1, contacts)
            support = contact in violent and rng.random() < 0.5
            inbound = i % 2 == 0
            batch.append({
                "contact_id": contact, "direction": "in" if inbound else "out",
                "channel": "whatsapp" if contact % 3 == 0 else "sms",
                "body": None if support and inbound else " ".join(rng.sample(WORDS, 4)),
                "redacted": support and inbound, "status": "received" if inbound else "replied",
                "num_media": 0, "truncated": False,
                "intent": ("gbv_support" if support else rng.choice(INTENTS)) if inbound else None,
                "confidence": round(rng.random(), 3) if inbound else None, "entities": {},
                "nlu_source": "rasa" if inbound else None, "flow": "support" if support else "menu",
                "created_at": now - timedelta(seconds=rng.randint(0, 90 * 86400)),
                "updated_at": now})
            if len(batch) == 5000:
                conn.execute(insert(Message), batch)
                batch = []
        if batch:
            conn.execute(insert(Message), batch)
        conn.execute(insert(User), [
            {"email": f"{role}@bench.test", "role": role, "active": True, "failed_logins": 0,
             "password_hash": generate_password_hash("bench-password", "pbkdf2:sha256:1000"),
             "created_at": now} for role in ("reviewer", "counsellor")])
        if db.engine.dialect.name == "postgresql":
            conn.execute(text("ANALYZE"))


def signed_in(app, role: str):
    import re

    client = app.test_client()
    html = client.get("/console/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    response = client.post("/console/login", data={"email": f"{role}@bench.test",
                                                    "password": "bench-password",
                                                    "csrf_token": token})
    assert response.status_code == 302, response.status_code
    return client


def timed(client, path: str, repeat: int) -> tuple[float, float]:
    client.get(path)  # warm caches
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    return statistics.median(times), max(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="database URL (emptied first); default: a new SQLite file")
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    url = args.url or f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite"
    reset_schema(url)
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "NLU_URL": "http://127.0.0.1:9"})
    start = time.perf_counter()
    seed(services(app).db, args.n)
    print(f"{services(app).db.engine.dialect.name}: seeded {args.n} messages in "
          f"{time.perf_counter() - start:.1f} s")
    pages = [("list", "/console/conversaciones"),
             ("list page 2", None),
             ("list ?canal=whatsapp&intencion=ask_price",
              "/console/conversaciones?canal=whatsapp&intencion=ask_price"),
             ("list ?region=Puno&conf_max=0.3", "/console/conversaciones?region=Puno&conf_max=0.3"),
             ("list ?q=helada", "/console/conversaciones?q=helada"),
             ("review inbox", "/console/revision"),
             ("thread", "/console/contactos/1"),
             ("dashboard 30 days", "/console/"),
             ("dashboard 90 days", "/console/?dias=90")]
    print(f"{'page':44} {'role':11} {'median ms':>9} {'max ms':>8}")
    for role in ("reviewer", "counsellor"):
        client = signed_in(app, role)
        for name, path in pages:
            if path is None:
                import re

                html = client.get("/console/conversaciones").get_data(as_text=True)
                path = re.search(r'href="([^"]+)">Más antiguos', html).group(1).replace("&amp;", "&")
            if role == "counsellor" and name == "review inbox":
                continue
            if name == "thread" and role == "reviewer":
                path = "/console/contactos/2"
            median, worst = timed(client, path, args.repeat)
            print(f"{name:44} {role:11} {median:9.1f} {worst:8.1f}")
    services(app).db.dispose()


if __name__ == "__main__":
    main()

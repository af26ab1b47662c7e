"""Measure `import-prices` on a generated bulletin: first import, then a re-import (all unchanged).

Usage: .venv/bin/python bench/import_prices.py [--rows 20000] [--database-url URL]
Without --database-url it uses a temporary SQLite file; a given database is EMPTIED first. The bulletin is
invented (9 markets x 60 products x 4 varieties x N days), written to a temp dir.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEADER = "fecha,mercado,departamento,producto,variedad,unidad,precio_min,precio_prom,precio_max"
MARKETS = [("Mercado Raez Patiño - Huancayo", "Junín"), ("Mercado Túpac Amaru - Juliaca", "Puno"),
           ("Mercado Vinocanchón - Cusco", "Cusco"), ("Mercado Avelino Cáceres - Arequipa", "Arequipa"),
           ("Gran Mercado Mayorista de Lima - Santa Anita", "Lima"), ("Mercado Central - Huaraz", "Áncash"),
           ("Mercado Mayorista - Piura", "Piura"), ("Mercado Mayorista - Huancavelica", "Huancavelica"),
           ("Mercado Internacional - Ilave", "Puno")]


def bulletin(rows: int) -> str:
    """Return an invented bulletin with `rows` distinct lines."""
    lines = [HEADER]
    n = 0
    day = 0
    while n < rows:
        for market, department in MARKETS:
            for product in range(60):
                for variety in range(4):
                    if n == rows:
                        return "\n".join(lines) + "\n"
                    avg = 100 + (n * 37) % 900
                    lines.append(f"{day % 28 + 1:02d}/{10 - day // 28:02d}/2026,{market},{department},"
                                 f"Producto {product},Var {variety},kg,{(avg - 20) / 100:.2f},"
                                 f"{avg / 100:.2f},{(avg + 30) / 100:.2f}")
                    n += 1
        day += 1
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--database-url")
    opts = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from sqlalchemy import create_engine, text

    from bot.db import Database, migrate
    from bot.knowledge.prices import import_prices
    from models import Base

    with tempfile.TemporaryDirectory() as tmp:
        url = opts.database_url or f"sqlite:///{tmp}/bench.sqlite"
        engine = create_engine(url)
        with engine.begin() as conn:  # start empty: the bench owns this database
            Base.metadata.drop_all(conn)
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        engine.dispose()
        migrate(url)
        path = Path(tmp) / "bulletin.csv"
        path.write_text(bulletin(opts.rows), encoding="utf-8")
        db = Database(url)
        for label in ("first import", "re-import"):
            start = time.perf_counter()
            with db.session() as session:
                result = import_prices(session, path)
            seconds = time.perf_counter() - start
            print(f"{db.engine.dialect.name:10s} {label:13s} {opts.rows} rows: {seconds:.2f} s "
                  f"({opts.rows / seconds:,.0f} rows/s)  {result.summary()}")
        db.dispose()


if __name__ == "__main__":
    main()

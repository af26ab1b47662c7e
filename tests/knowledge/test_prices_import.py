"""`import-prices`: real bulletin files, bad rows, bad files, idempotence; SQLite and PostgreSQL."""
from datetime import date

import pytest
from sqlalchemy import func, select

from bot.knowledge import prices as price_import
from models import Market, PriceReport, Product
from tests.fakes.topics import DATA, cli


def count(db, model):
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(model))


def report(db, market_word, product, variety, day):
    with db.session() as s:
        return s.scalar(select(PriceReport).join(Market).join(Product).where(
            Market.key.contains(market_word), Product.name == product,
            PriceReport.variety == variety, PriceReport.date == day))


def test_good_bulletin_imports_every_row_with_its_units_dates_and_source(app, db):
    result = cli(app, "import-prices", DATA / "prices_good.csv")
    assert result.exit_code == 0, result.output
    assert "imported 9, updated 0, unchanged 0, rejected 0 (source: PRUEBA / test data)" in result.output
    amarilla = report(db, "huancayo", "papa", "amarilla", date(2026, 11, 20))
    assert (amarilla.min_cents, amarilla.avg_cents, amarilla.max_cents) == (220, 264, 300)
    assert amarilla.unit == "kg" and amarilla.source == "PRUEBA / test data"
    assert report(db, "huancayo", "papa", "blanca", date(2026, 11, 13)).avg_cents == 120  # dd/mm/yyyy
    olluco = report(db, "huancayo", "olluco", "", date(2026, 11, 20))
    assert (olluco.unit, olluco.min_cents, olluco.avg_cents, olluco.max_cents) == ("arroba", None, 1850, None)
    quinua = report(db, "juliaca", "quinua", "blanca", date(2026, 11, 20))
    assert quinua.unit == "saco" and quinua.min_cents == 30000
    assert report(db, "juliaca", "papa", "amarilla", date(2026, 11, 20)).min_cents == 190  # "1,90"
    # "Papa Amarilla" without a variety is the papa product, variety amarilla
    assert report(db, "santa anita", "papa", "amarilla", date(2026, 11, 19)).avg_cents == 290
    with db.session() as s:
        juliaca = s.scalar(select(Market).where(Market.key.contains("juliaca")))
        assert (juliaca.department, juliaca.province) == ("puno", "san roman")
        papa = s.scalar(select(Product).where(Product.name == "papa"))
        assert "papita" in papa.aliases and papa.default_unit == "kg"


def test_reimport_changes_nothing_and_a_corrected_line_updates(app, db, tmp_path):
    cli(app, "import-prices", DATA / "prices_good.csv")
    again = cli(app, "import-prices", DATA / "prices_good.csv")
    assert "imported 0, updated 0, unchanged 9, rejected 0" in again.output
    assert count(db, PriceReport) == 9 and count(db, Market) == 4 and count(db, Product) == 4
    corrected = tmp_path / "corrected.csv"
    lines = (DATA / "prices_good.csv").read_text(encoding="utf-8").splitlines()
    corrected.write_text("\n".join(lines[:3] + [lines[5].replace("2.64", "2.70")]) + "\n", encoding="utf-8")
    result = cli(app, "import-prices", corrected)
    assert "imported 0, updated 1, unchanged 0, rejected 0" in result.output
    assert report(db, "huancayo", "papa", "amarilla", date(2026, 11, 20)).avg_cents == 270
    assert count(db, PriceReport) == 9


def test_bad_rows_are_reported_by_line_and_the_rest_imports(app, db):
    result = cli(app, "import-prices", DATA / "prices_bad_rows.csv")
    assert result.exit_code == 0
    rejected = [line for line in result.stderr.splitlines() if "rejected:" in line]
    assert [int(line.split(":")[1]) for line in rejected] == [3, 4, 5, 6, 7, 8, 9, 10]
    assert "unreadable date '2026-13-45'" in rejected[0]
    assert "unknown unit 'costal'" in rejected[1]
    assert "precio_min 'abc'" in rejected[2]
    assert "precio_min <= precio_prom <= precio_max" in rejected[3]
    assert "expected 9 columns" in rejected[4]
    assert "as line 2" in rejected[5]
    assert "precio_prom is empty" in rejected[6]
    assert "in the future" in rejected[7]
    assert "imported 2, updated 0, unchanged 0, rejected 8" in result.stdout
    assert count(db, PriceReport) == 2


@pytest.mark.parametrize("name, message", [
    ("prices_wrong_header.csv", "wrong header, missing fecha"),
    ("prices_latin1.csv", "not UTF-8 (byte 0xed on line 2)"),
    ("missing.csv", "no such file"),
])
def test_unreadable_files_are_refused_with_a_clear_error_and_write_nothing(app, db, name, message):
    result = cli(app, "import-prices", DATA / name)
    assert result.exit_code == 1 and message in result.output
    assert count(db, PriceReport) == 0 and count(db, Market) == 0


def test_semicolons_and_decimal_commas_from_spreadsheets_are_read(app, db):
    result = cli(app, "import-prices", DATA / "prices_semicolon.csv")
    assert "imported 1" in result.output
    assert report(db, "vinocanchon", "haba", "verde", date(2026, 11, 20)).max_cents == 280


def test_a_failure_while_writing_leaves_nothing_half_written(app, db, monkeypatch):
    def broken(session, lines):
        session.flush()
        raise RuntimeError("disk full")

    monkeypatch.setattr(price_import, "_products", broken)
    result = cli(app, "import-prices", DATA / "prices_good.csv")
    assert result.exit_code != 0
    assert count(db, Market) == 0 and count(db, PriceReport) == 0


def test_large_file_shows_progress_and_imports(app, db, tmp_path):
    rows = ["fecha,mercado,departamento,producto,variedad,unidad,precio_min,precio_prom,precio_max"]
    for n in range(1200):
        rows.append(f"2026-11-{1 + n % 20:02d},Mercado {n // 20 % 3} - Puno,Puno,Producto{n // 60},"
                    f",kg,1.00,1.{n % 90 + 10},2.00")
    big = tmp_path / "big.csv"
    big.write_text("\n".join(rows) + "\n", encoding="utf-8")
    result = cli(app, "import-prices", big)
    assert "reading rows" in result.stderr
    assert "imported 1200, updated 0, unchanged 0, rejected 0" in result.stdout
    assert count(db, PriceReport) == 1200

"""`knowledge export DIR` / `knowledge import DIR`: byte-for-byte round trip, problems by file and line."""
from __future__ import annotations

from pathlib import Path

from bot.services import services
from bot.topics import store
from models import utcnow
from tests.conftest import _empty_tables

FIXTURES = Path(__file__).resolve().parents[1] / "data" / "knowledge"


def files_of(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.glob("*.yml"))}


def test_the_shipped_knowledge_base_round_trips_byte_for_byte(app, tmp_path):
    runner = app.test_cli_runner()
    first, second = tmp_path / "a", tmp_path / "b"
    result = runner.invoke(args=["knowledge", "export", str(first)])
    assert result.exit_code == 0, result.output
    assert "abonos.yml" in files_of(first) and len(files_of(first)) >= 5
    again = runner.invoke(args=["knowledge", "import", str(first)])
    assert again.exit_code == 0 and "0 temas cambiados" in again.output, again.output
    assert runner.invoke(args=["knowledge", "export", str(second)]).exit_code == 0
    assert files_of(second) == files_of(first)


def test_files_imported_into_an_empty_database_export_to_the_same_bytes(app, tmp_path):
    runner = app.test_cli_runner()
    first, second = tmp_path / "a", tmp_path / "b"
    result = runner.invoke(args=["knowledge", "import", "--publish", str(FIXTURES)])
    assert result.exit_code == 0 and "1 temas cambiados, publicados" in result.output, result.output
    assert runner.invoke(args=["knowledge", "export", str(first)]).exit_code == 0
    assert list(files_of(first)) == ["camelidos.yml"]
    text = (first / "camelidos.yml").read_text(encoding="utf-8")
    assert "regions:\n      - puno\n      - cusco" in text and "document: INIA, Bolet" in text
    (first / "camelidos.yml").write_text(text.replace("Prueba del esquema.", "Prueba DEL esquema."),
                                         encoding="utf-8")  # same length: the lines wrap the same
    _empty_tables(services(app).db)
    result = runner.invoke(args=["knowledge", "import", "--publish", str(first)])
    assert result.exit_code == 0, result.output
    assert runner.invoke(args=["knowledge", "export", str(second)]).exit_code == 0
    assert files_of(second) == files_of(first)
    with services(app).db.session() as session:
        assert "Prueba DEL esquema." in store.latest(session, "alpaca_prueba", "published").content["sms"]


def test_an_import_without_publish_makes_drafts_only(app, tmp_path):
    runner = app.test_cli_runner()
    runner.invoke(args=["knowledge", "export", str(tmp_path)])
    path = tmp_path / "abonos.yml"
    path.write_text(path.read_text(encoding="utf-8").replace("El biol es un abono", "El biol: abono", 1),
                    encoding="utf-8")
    result = runner.invoke(args=["knowledge", "import", "--by", "ana@chaski.test", str(tmp_path)])
    assert "1 temas cambiados, borradores" in result.output
    with services(app).db.session() as session:
        assert [d.author_email for d in store.drafts(session)] == ["ana@chaski.test"]
        assert store.latest(session, "biol", "published").content["sms"].startswith("El biol es un abono")


def test_every_problem_is_reported_by_file_and_line_and_nothing_is_written(app, tmp_path):
    runner = app.test_cli_runner()
    runner.invoke(args=["knowledge", "export", str(tmp_path)])
    lines = (tmp_path / "abonos.yml").read_text(encoding="utf-8").splitlines()
    sms_line = next(i for i, line in enumerate(lines) if line.strip().startswith("sms:"))
    lines[sms_line] = "    sms: " + "x" * 330
    url_line = next(i for i, line in enumerate(lines) if "url:" in line)
    lines[url_line] = lines[url_line].replace("url: http", "url: ftp")
    (tmp_path / "abonos.yml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "roto.yml").write_text("category: roto\ntitle: [sin cerrar\n", encoding="utf-8")
    (tmp_path / "extra.yml").write_text("category: extra\ntitle: Extra\ntopics:\n  - id: biol\n"
                                        "    title: Otro biol\n", encoding="utf-8")
    with services(app).db.session() as session:
        before = len(store.published_versions(session))
    result = runner.invoke(args=["knowledge", "import", "--publish", str(tmp_path)])
    assert result.exit_code == 1
    out = result.output
    assert f"abonos.yml:{sms_line + 1}: tema" in out and "segmentos" in out
    assert "abonos.yml:" in out and "url no es una dirección web" in out
    assert "roto.yml:2: YAML no válido" in out or "roto.yml:3: YAML no válido" in out
    assert "extra.yml:4: tema 'biol' repetido (ya en abonos.yml:" in out
    assert "extra.yml:4: tema 'biol': falta keywords" in out  # a missing field: the topic's line
    assert "no se importó nada" in out
    with services(app).db.session() as session:
        assert len(store.published_versions(session)) == before and store.drafts(session) == []
        assert store.latest(session, "biol", "published").number == 1
    assert utcnow()  # the clock was never needed to refuse

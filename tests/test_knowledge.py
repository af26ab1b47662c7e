"""Every shipped topic is valid: sources present, SMS within 2 segments as sent, not only weak sources."""
import yaml

from flows.kb_schema import (file_problems, is_weak, is_weak_url, sms_segments, topic_problems)
from flows.knowledge import KB_DIR, knowledge_base, load_file
from pathlib import Path

FIXTURE = Path(__file__).resolve().parent / "data" / "knowledge" / "extended.yml"


def shipped():
    for path in sorted(KB_DIR.glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        yield path, data


def test_every_shipped_file_has_a_category_a_title_and_topics():
    for path, data in shipped():
        assert file_problems(data) == [], path.name


def test_every_shipped_topic_has_sources_and_fits_two_segments():
    problems = [(path.name, raw.get("id"), field, message)
                for path, data in shipped() for raw in data["topics"]
                for field, message in topic_problems(raw) if field != "sources" or "débiles" not in message]
    assert problems == []
    for topic in knowledge_base().topics.values():
        assert topic.sources and sms_segments(topic.sms, topic.short_source) <= 2, topic.id


def test_no_shipped_topic_cites_only_weak_sources():
    weak_only = [raw["id"] for _, data in shipped() for raw in data["topics"]
                 if raw.get("sources") and all(is_weak(s) for s in raw["sources"])]
    assert weak_only == [], f"topics citing only weak sources: {weak_only}"


def test_weak_sources_are_detected_by_their_site():
    for url in ("https://es.scribd.com/doc/1/x", "https://studylib.es/doc/2", "https://x.blogspot.com/a",
                "https://es.slideshare.net/u/s", "https://www.passeidireto.com/a", "https://fdocuments.ec/d",
                "https://es.studenta.com/c", "https://blog.agroterra.com/p"):
        assert is_weak_url(url), url
    for url in ("https://repositorio.inia.gob.pe/handle/1", "https://www.fao.org/3/a.pdf",
                "https://cipotato.org/x", None, ""):
        assert not is_weak_url(url), url
    assert is_weak({"title": "t", "publisher": "p", "document": "d", "weak": True})


def test_the_extended_schema_loads_and_validates():
    data = yaml.safe_load(FIXTURE.read_text(encoding="utf-8"))
    assert file_problems(data) == [] and topic_problems(data["topics"][0]) == []
    category, topics = load_file(FIXTURE)
    assert category.id == "camelidos" and topics[0].regions == ("puno", "cusco")
    assert topics[0].altitude == "above 3500 m"


def test_bad_entries_are_reported_field_by_field():
    raw = yaml.safe_load(FIXTURE.read_text(encoding="utf-8"))["topics"][0]
    raw = {**raw, "sms": "x" * 400, "regions": ["marte"], "altitude": "alto", "checked": "ayer",
           "sources": [{"title": "s", "url": "https://studylib.es/doc/1"}]}
    fields = {field for field, _ in topic_problems(raw)}
    assert fields == {"sms", "regions", "altitude", "checked", "sources[1]", "sources"}

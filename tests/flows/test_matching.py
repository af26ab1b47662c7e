"""The matcher on held-out phrasings (tests/data/topic_phrasings.txt, written before the fix)."""
from pathlib import Path

from flows.knowledge import find
from flows.matching import stem, words

PHRASINGS = Path(__file__).resolve().parents[1] / "data" / "topic_phrasings.txt"


def held_out() -> list[tuple[str, str]]:
    lines = PHRASINGS.read_text(encoding="utf-8").splitlines()
    return [tuple(line.split("\t", 1)) for line in lines if line and not line.startswith("#")]


def test_a_reordered_keyword_finds_its_topic():
    assert find("mis cuyes se estan muriendo que hago").id == "cuy_sanidad"
    assert find("se me murieron 3 cuyes").id == "cuy_sanidad"
    assert find("variedades de papa nuevas del inia").id == "papa_resistente"


def test_plural_and_verb_forms_share_a_stem():
    assert stem("mueren") == stem("muriendo") == stem("murieron")
    assert stem("cuyes") == stem("cuy") and stem("gusanos") == stem("gusano")
    assert words("Los CUYES se mueren") == ["cuy", "mur"]


def test_held_out_phrasings_are_matched(capsys):
    rows = held_out()
    assert len(rows) >= 90 and len({tid for tid, _ in rows}) >= 30
    misses = [(tid, text, getattr(find(text), "id", None)) for tid, text in rows
              if getattr(find(text), "id", None) != tid]
    with capsys.disabled():
        print(f"\nheld-out topic phrasings: {len(rows) - len(misses)}/{len(rows)} matched")
    # Measured 2026-12-01: 88/97 before the stem and any-order change, 93/97 after on the 31
    # topics of then; 92/97 with the 70 topics of issue 18's content (seed fairs answer "donde
    # consigo buena semilla", land rights take "mi terreno se lava").
    assert len(misses) <= 5, misses


def test_near_spellings_are_what_difflib_finds():
    """The cached matchers answer exactly what difflib.get_close_matches answers."""
    import difflib
    import itertools

    from flows import matching

    keywords = ["compost", "bocashi", "biol", "helad", "cuy", "alpac", "purin", "gallin", "semill"]
    messages = [("kompost", "vocashi"), ("bioll", "chacra"), ("elad", "manan"), ("cuyes",),
                ("alpacaz", "enferm"), ("purin",), ("gallinaz",), ("semiya", "papa"), ()]
    for kw, stems in itertools.product(keywords, messages):
        expected = bool(difflib.get_close_matches(kw, stems, n=1, cutoff=matching.FUZZY_CUTOFF))
        assert matching._close(kw, stems) is expected, (kw, stems)
    assert matching._close("compost", ("kompost",)) and not matching._close("compost", ("papa",))

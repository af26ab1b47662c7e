"""GSM-7 rewriting and SMS segment counting."""
import pytest

from flows.gsm7 import encoding, is_gsm7, segment_count, to_gsm7


@pytest.mark.parametrize("text, expected", [
    ("¿Cuánto está la papa?", "¿Cuanto esta la papa?"),
    ("Línea 100: gratis", "Linea 100: gratis"),
    ("Áncash, Junín, Huancavelica", "Ancash, Junin, Huancavelica"),
    ("“helada” y ‘granizo’", "\"helada\" y 'granizo'"),
    ("año, señora, pingüino, café", "año, señora, pingüino, café"),
    ("¡Hola!", "¡Hola!"),
    ("ÚLTIMO", "ULTIMO"),
    ("precio – S/ 1.20…", "precio - S/ 1.20..."),
])
def test_rewrite_keeps_gsm7_letters_and_strips_the_rest(text, expected):
    assert to_gsm7(text) == expected
    assert is_gsm7(to_gsm7(text))


def test_rewrite_drops_emoji_and_marks_unknown_symbols():
    assert to_gsm7("Hola 👋🏽") == "Hola ?"
    assert is_gsm7(to_gsm7("数字 ☃"))


def test_gsm7_single_and_multi_segment_boundaries():
    assert segment_count("") == 0
    assert segment_count("a" * 160) == 1
    assert segment_count("a" * 161) == 2
    assert segment_count("a" * 306) == 2
    assert segment_count("a" * 307) == 3


def test_extension_characters_take_two_septets_and_are_not_split():
    assert segment_count("€" * 80) == 1  # 160 septets
    assert segment_count("€" * 81) == 2
    # 152 plain septets then an escape pair: the pair moves whole to segment 2.
    assert segment_count("a" * 152 + "€" + "a" * 10) == 2
    assert segment_count("a" * 152 + "€" * 77) == 3


def test_ucs2_boundaries_when_one_accent_remains():
    assert encoding("á") == "UCS-2"
    assert segment_count("á" + "a" * 69) == 1
    assert segment_count("á" + "a" * 70) == 2
    assert segment_count("á" + "a" * 133) == 2
    assert segment_count("á" + "a" * 134) == 3


def test_rewriting_saves_segments():
    text = "Mañana habrá heladas en Junín: protege tus cultivos, cubre los almácigos y riega al atardecer."
    assert segment_count(text) == 2
    assert segment_count(to_gsm7(text)) == 1

"""The console's form pieces that several pages share: audience (segment) fields, errors
in Spanish, dates in Lima time, message text previews."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.clock import LIMA
from bot.proactive import audience, broadcasts
from bot.services import services
from flows.gsm7 import segment_count, to_gsm7

LANGUAGE_NAMES = {"es": "castellano", "qu": "quechua", "ay": "aimara"}


@dataclass(frozen=True)
class SegmentField:
    """One audience field of the form: `key` of Broadcast.segment, how it is typed and read."""

    key: str
    label: str
    kind: str  # "list" (comma-separated words), "choice" (one of `choices`), "int", "survey_answer"
    hint: str = ""
    choices: tuple = ()


# The audience fields, in form order. A new segment key in bot/proactive/audience.py is one line
# here; a line whose key audience.py does not know (yet) is left off the form.
SEGMENT_FIELDS = (
    SegmentField("region", "Regiones", "list", "p. ej. junin, puno"),
    SegmentField("province", "Provincias", "list", "p. ej. huancayo, chucuito"),
    SegmentField("language", "Idiomas", "list", "es, qu, ay"),
    SegmentField("channel", "Canal que usan", "choice", "", ("", "sms", "whatsapp")),
    SegmentField("active_days", "Escribieron en los últimos N días", "int", "p. ej. 30"),
    SegmentField("crop", "Cultivos", "list", "p. ej. papa, quinua"),
    SegmentField("subscription", "Suscritos a", "list", "prices, alerts, calendar"),
    SegmentField("survey_answer", "Respondieron en una encuesta", "survey_answer",
                 "encuesta:pregunta=respuesta, p. ej. cosecha-2026:usa_biol=no"),
)


def segment_fields() -> list[SegmentField]:
    """Return the audience fields bot/proactive/audience.py accepts."""
    return [f for f in SEGMENT_FIELDS if f.key in audience.SEGMENT_KEYS]


class FormError(ValueError):
    """A form value the staff member must correct (message in Spanish)."""


def lima_datetime(value: str) -> datetime:
    for fmt in ("%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"):
        try:
            return datetime.strptime(value.strip(), fmt).replace(tzinfo=LIMA)
        except ValueError:
            continue
    raise FormError(f"La fecha y hora «{value}» no es válida: usa AAAA-MM-DD HH:MM (hora de Lima).")


def parse_segment(form) -> dict:
    """Return Broadcast.segment from the form's audience fields, or raise FormError."""
    segment: dict = {}
    for f in segment_fields():
        raw = (form.get(f"seg_{f.key}") or "").strip()
        if not raw:
            continue
        if f.kind == "list":
            segment[f.key] = [v.strip().lower() for v in raw.split(",") if v.strip()]
        elif f.kind == "int":
            if not raw.isdigit() or int(raw) < 1:
                raise FormError(f"«{f.label}» debe ser un número entero mayor que cero.")
            segment[f.key] = int(raw)
        elif f.kind == "survey_answer":
            segment[f.key] = _survey_answer(f, raw)
        elif raw not in f.choices:
            raise FormError(f"«{f.label}»: valor no válido.")
        else:
            segment[f.key] = raw
    return segment


def _survey_answer(f: SegmentField, raw: str) -> dict:
    """Read "encuesta:pregunta=respuesta" (the CLI's parser) and check the survey has it."""
    try:
        wanted = audience.parse_survey_answer(raw)
    except audience.SegmentError:
        raise FormError(f"«{f.label}»: escribe encuesta:pregunta=respuesta, "
                        "p. ej. cosecha-2026:usa_biol=no.") from None
    try:
        with services().db.session() as session:
            audience.check_survey_answer(session, wanted)
    except audience.SegmentError as exc:
        text = str(exc)
        if text.startswith("no survey"):
            raise FormError(f"No existe la encuesta «{wanted['survey']}» (ver Encuestas).") from None
        if " has no question " in text:
            raise FormError(f"La encuesta «{wanted['survey']}» no tiene la pregunta "
                            f"«{wanted['question']}».") from None
        raise FormError(f"La pregunta «{wanted['question']}» acepta solo "
                        f"{text.split(' takes ', 1)[1].split(', not', 1)[0]}.") from None
    return wanted


def describe_segment(segment: dict | None) -> str:
    """Return an audience in words, e.g. "region = junin, puno; survey_answer = s:q=a"."""
    parts = []
    for key, value in (segment or {}).items():
        if isinstance(value, dict):
            value = f"{value.get('survey')}:{value.get('question')}={value.get('answer')}"
        elif isinstance(value, list):
            value = ", ".join(map(str, value))
        parts.append(f"{key} = {value}")
    return "; ".join(parts) or "todos los contactos que aceptaron y no pidieron BAJA"


def text_previews(form) -> dict:
    """Return, per language typed, the SMS text after GSM-7 rewriting and its segment count."""
    previews = {}
    for lang in broadcasts.LANGUAGES:
        text = (form.get(f"text_{lang}") or "").strip()
        if text:
            sms = to_gsm7(text)
            previews[lang] = {"sms_text": sms, "segments": segment_count(sms),
                              "changed": sms != text, "chars": len(sms)}
    return previews

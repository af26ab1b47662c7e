"""Check one knowledge-base topic as staff or a file gives it: every problem, in Spanish.

The same checks serve the shipped YAML (tests), `knowledge import` (each problem
with its file and line) and the console editor (each problem beside its field).
"""
from __future__ import annotations

import re
from datetime import date
from urllib.parse import urlparse

from flows.catalog import t
from flows.gsm7 import segment_count, to_gsm7
from flows.places import REGIONS

MAX_SEGMENTS = 2
ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,59}$")
ALTITUDE_PATTERN = re.compile(r"^(above|below) \d{3,4} m$|^\d{3,4}-\d{3,4} m$")
# Anonymous uploads, document-sharing mirrors and personal blogs: never the only source.
WEAK_DOMAINS = ("scribd.com", "studylib.es", "studylib.net", "slideshare.net", "passeidireto.com",
                "studenta.com", "fdocuments.", "vdocuments.", "docobook.com", "vsip.info",
                "pdfcookie.com", "docslib.org", "dokumen.", "idoc.pub", "blogspot.com",
                "wordpress.com", "monografias.com")
TOPIC_FIELDS = ("id", "title", "keywords", "sms", "whatsapp", "sources", "short_source", "checked")
OPTIONAL_FIELDS = ("regions", "altitude")


def is_weak_url(url: str | None) -> bool:
    """Tell whether `url` is an anonymous upload, a document-sharing copy or a personal blog."""
    host = (urlparse(str(url or "")).hostname or "").lower()
    return bool(host) and (host.startswith("blog.") or any(
        host == d or host.endswith("." + d) or (d.endswith(".") and (host.startswith(d) or f".{d}" in host))
        for d in WEAK_DOMAINS))


def is_weak(source: dict) -> bool:
    """Tell whether a source is weak: marked `weak: true`, or its URL's site is one."""
    return bool(source.get("weak")) or is_weak_url(source.get("url"))


def sms_as_sent(sms: str, short_source: str) -> str:
    """Return the first SMS answer exactly as it goes out (GSM-7, source and MAS hint)."""
    return to_gsm7(f"{sms.strip()} {t('agro_source', source=short_source)} {t('agro_more_hint')}")


def sms_segments(sms: str, short_source: str) -> int:
    """Return how many SMS segments the first answer takes as sent."""
    return segment_count(sms_as_sent(sms, short_source))


def part_segments(part: str, short_source: str) -> int:
    """Return the segments of a longer part sent by SMS (the longer of its two endings)."""
    last = to_gsm7(f"{part.strip()} {t('agro_source', source=short_source)} {t('agro_end')}")
    middle = to_gsm7(f"{part.strip()} {t('agro_more_hint')}")
    return max(segment_count(last), segment_count(middle))


def _checked_problem(value) -> str | None:
    if isinstance(value, date):
        return None
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            date.fromisoformat(value)
            return None
        except ValueError:
            pass
    return "checked debe ser una fecha AAAA-MM-DD"


def source_problems(source, n: int) -> list[tuple[str, str]]:
    """Return the problems of the n-th source (1-based) as (field, message)."""
    where = f"sources[{n}]"
    if not isinstance(source, dict):
        return [(where, "cada fuente necesita title, publisher y url o document")]
    problems = [(where, f"falta {key}") for key in ("title", "publisher") if not source.get(key)]
    url, document = source.get("url"), source.get("document")
    if not url and not document:
        problems.append((where, "falta url o document (una referencia al documento)"))
    if url and not str(url).startswith(("http://", "https://")):
        problems.append((where, f"url no es una dirección web: {url}"))
    year = source.get("year")
    if year is not None and not (isinstance(year, int) and 1900 <= year <= 2100):
        problems.append((where, f"year debe ser un año (p. ej. 2019): {year}"))
    if "weak" in source and not isinstance(source["weak"], bool):
        problems.append((where, "weak debe ser true o false"))
    if source.get("checked") is not None and _checked_problem(source["checked"]):
        problems.append((where, "checked de la fuente debe ser una fecha AAAA-MM-DD"))
    return problems


def topic_problems(raw, weak_ok: bool = False) -> list[tuple[str, str]]:
    """Return every problem of one topic entry as (field, message); empty when it is valid.

    `weak_ok` leaves out "cites only weak sources" (an import checks that on changed topics only).
    """
    if not isinstance(raw, dict):
        return [("topic", "cada tema es un bloque con id, title, keywords, sms...")]
    problems = [(key, f"falta {key}") for key in TOPIC_FIELDS if not raw.get(key)]
    unknown = set(raw) - set(TOPIC_FIELDS) - set(OPTIONAL_FIELDS)
    problems += [(key, f"campo desconocido {key}") for key in sorted(unknown)]
    if raw.get("id") and not ID_PATTERN.match(str(raw["id"])):
        problems.append(("id", "id: minúsculas, números y _ (p. ej. cuy_sanidad)"))
    keywords = raw.get("keywords")
    if keywords and not (isinstance(keywords, list) and all(isinstance(k, str) and k.strip()
                                                            for k in keywords)):
        problems.append(("keywords", "keywords es una lista de palabras o frases"))
    if raw.get("checked") and _checked_problem(raw["checked"]):
        problems.append(("checked", _checked_problem(raw["checked"])))
    short = str(raw.get("short_source") or "")
    if isinstance(raw.get("sms"), str) and raw["sms"].strip():
        segments = sms_segments(raw["sms"], short)
        if segments > MAX_SEGMENTS:
            problems.append(("sms", f"el SMS ocupa {segments} segmentos tal como se envía "
                                    f"(máximo {MAX_SEGMENTS})"))
    parts = raw.get("whatsapp")
    if parts and not (isinstance(parts, list) and all(isinstance(p, str) and p.strip() for p in parts)):
        problems.append(("whatsapp", "whatsapp es una lista de textos"))
    elif parts:
        for i, part in enumerate(parts, 1):
            segments = part_segments(part, short)
            if segments > MAX_SEGMENTS:
                problems.append(("whatsapp", f"la parte {i} ocupa {segments} segmentos por SMS "
                                             f"(máximo {MAX_SEGMENTS})"))
    sources = raw.get("sources")
    if sources and not isinstance(sources, list):
        problems.append(("sources", "sources es una lista de fuentes"))
    elif sources:
        for n, source in enumerate(sources, 1):
            problems += source_problems(source, n)
        if not weak_ok and all(isinstance(s, dict) and is_weak(s) for s in sources):
            problems.append(("sources", "solo cita fuentes débiles (subidas anónimas, blogs, sitios "
                                        "para compartir documentos): añade una fuente pública sólida"))
    regions = raw.get("regions")
    if regions is not None:
        if not isinstance(regions, list):
            problems.append(("regions", "regions es una lista de departamentos"))
        else:
            problems += [("regions", f"región desconocida {r!r} (usa {', '.join(REGIONS)})")
                         for r in regions if r not in REGIONS]
    altitude = raw.get("altitude")
    if altitude is not None and not ALTITUDE_PATTERN.match(str(altitude)):
        problems.append(("altitude", "altitude como 'above 3500 m', 'below 2500 m' o '2500-3500 m'"))
    return problems


def file_problems(data) -> list[tuple[str, str]]:
    """Return the problems of a category file's header (category, title, topics)."""
    if not isinstance(data, dict):
        return [("file", "el archivo debe tener category, title y topics")]
    problems = [(key, f"falta {key}") for key in ("category", "title", "topics") if not data.get(key)]
    if data.get("category") and not ID_PATTERN.match(str(data["category"])):
        problems.append(("category", "category: minúsculas, números y _"))
    if data.get("topics") is not None and not isinstance(data["topics"], list):
        problems.append(("topics", "topics es una lista de temas"))
    return problems

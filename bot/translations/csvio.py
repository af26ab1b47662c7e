"""Texts as CSV for translators who work offline: download, and upload with a report by line."""
from __future__ import annotations

import csv
import io
from datetime import datetime

from sqlalchemy.orm import Session

from bot.translations.store import EDITABLE, TextError, check, rows, save

HEADER = ["tipo", "clave", "campo", "es", "qu", "ay", "qu_revisado", "ay_revisado"]


def table(session: Session) -> list[list]:
    """Return the rows of the CSV download (after the header)."""
    return [[r.kind, r.key, r.field, r.es, r.texts.get("qu", ""), r.texts.get("ay", ""),
             "si" if r.checked("qu") else "no", "si" if r.checked("ay") else "no"]
            for r in rows(session)]


def _unquote(cell: str) -> str:
    """Undo the quote the download puts before a cell a spreadsheet would run as a formula."""
    cell = (cell or "").strip()
    return cell[1:] if cell[:1] == "'" and cell[1:2] in ("=", "+", "-", "@") else cell


def upload(session: Session, data: bytes, who: str, now: datetime) -> tuple[int, list[str]]:
    """Save every changed qu/ay text of the CSV, or none when any line is wrong.

    Return (texts saved, problems "línea N: ..."); with problems nothing is written.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return 0, ["el archivo no es UTF-8 (guárdalo como CSV UTF-8)"]
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or not {"tipo", "clave", "campo", *EDITABLE} <= set(reader.fieldnames):
        return 0, [f"línea 1: la cabecera debe tener {', '.join(HEADER[:6])}"]
    known = {(r.kind, r.key, r.field): r for r in rows(session)}
    changes, problems = [], []
    for line, record in enumerate(reader, start=2):
        ident = (record.get("tipo") or "").strip(), (record.get("clave") or "").strip(), \
            (record.get("campo") or "").strip()
        row = known.get(ident)
        if row is None:
            problems.append(f"línea {line}: texto desconocido {':'.join(ident)}")
            continue
        for lang in EDITABLE:
            new = _unquote(record.get(lang) or "")
            if not new or new == (row.texts.get(lang) or ""):
                continue
            try:
                check(row, lang, new)
            except TextError as exc:
                problems.append(f"línea {line} ({lang}, {row.key}): {exc}")
                continue
            changes.append((row, lang, new))
    if problems:
        return 0, problems
    for row, lang, new in changes:
        save(session, row, lang, new, checked=False, who=who, now=now)
    return len(changes), []

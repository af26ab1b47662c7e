"""CSV downloads for the console: UTF-8 with BOM (spreadsheets), safe against formula injection."""
from __future__ import annotations

import csv
import io
import re

from flask import Response

_PHONE_LIKE = re.compile(r"^[+-]?[\d*]+$")  # "+51900000****" or a negative number stay as they are


def safe_cell(value) -> str:
    """Return `value` as text a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    if text[:1] in ("=", "@", "\t", "\r") or (text[:1] in ("+", "-") and not _PHONE_LIKE.match(text)):
        return "'" + text
    return text


def csv_response(filename: str, header: list[str], rows) -> Response:
    """Return a CSV attachment with `header` and `rows` (each an iterable of values)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return Response("\ufeff" + out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"',
                             "Cache-Control": "no-store"})

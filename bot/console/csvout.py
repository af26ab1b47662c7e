"""CSV downloads for the console: UTF-8 with BOM (spreadsheets), safe against formula injection."""
from __future__ import annotations

import csv
import io

from flask import Response

from bot.csvsafe import safe_cell, safe_row

__all__ = ["csv_response", "safe_cell"]


def csv_response(filename: str, header: list[str], rows) -> Response:
    """Return a CSV attachment with `header` and `rows` (each an iterable of values)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(safe_row(row))
    return Response("\ufeff" + out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"',
                             "Cache-Control": "no-store"})

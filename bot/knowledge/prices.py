"""Import a price bulletin CSV (the format in README.md) into markets, products and price reports.

All good rows are written in one transaction; a bad row is reported with its
line number and skipped. Re-importing the same rows changes nothing.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Callable, Iterable

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.knowledge.files import read_bytes
from flows.places import key, places_in, region_of_name
from flows.products import product_aliases, split_variety
from models import Market, PriceReport, Product, utcnow

HEADER = ("fecha", "mercado", "departamento", "producto", "variedad", "unidad",
          "precio_min", "precio_prom", "precio_max")
UNITS = {
    "kg": "kg", "kilo": "kg", "kilos": "kg", "kilogramo": "kg", "kgs": "kg",
    "saco": "saco", "sacos": "saco", "arroba": "arroba", "arrobas": "arroba", "@": "arroba",
    "litro": "litro", "litros": "litro", "l": "litro", "lt": "litro",
    "unidad": "unidad", "unidades": "unidad", "und": "unidad", "un": "unidad",
    "docena": "docena", "atado": "atado", "caja": "caja", "jaba": "jaba", "bolsa": "bolsa",
    "quintal": "quintal", "qq": "quintal", "tonelada": "t", "t": "t", "cabeza": "cabeza",
}
DEFAULT_SOURCE = "MIDAGRI"
MAX_CENTS = 10_000_000  # S/ 100,000: anything above is a typing error


class BulletinError(Exception):
    """The file as a whole cannot be imported (missing, wrong encoding, wrong header)."""


@dataclass
class RowError:
    line: int
    reason: str


@dataclass
class PriceImport:
    """What an import did: counts and the rejected lines."""

    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[RowError] = field(default_factory=list)
    source: str = DEFAULT_SOURCE

    def summary(self) -> str:
        return (f"imported {self.imported}, updated {self.updated}, unchanged {self.unchanged}, "
                f"rejected {len(self.rejected)}")


@dataclass(frozen=True)
class Line:
    """One valid bulletin row, normalised."""

    line: int
    day: date
    market: str
    department: str
    product: str
    variety: str
    unit: str
    min_cents: int | None
    avg_cents: int
    max_cents: int | None

    @property
    def key(self) -> tuple:
        return (self.day, key(self.market), self.product, self.variety, self.unit)

    @property
    def prices(self) -> tuple:
        return (self.min_cents, self.avg_cents, self.max_cents)


def read_text(path: Path) -> str:
    """Return the file's text, or raise BulletinError saying why it cannot be read."""
    raw = read_bytes(path, BulletinError)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise BulletinError(
            f"{path}: not UTF-8 (byte 0x{raw[exc.start]:02x} on line {line}); save it as "
            "'CSV UTF-8' (Excel) or convert it, e.g. iconv -f latin1 -t utf-8") from None


def parse_date(text: str) -> date:
    text = text.strip()
    iso = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", text)
    dmy = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", text)
    try:
        if iso:
            return date(int(iso[1]), int(iso[2]), int(iso[3]))
        if dmy:
            return date(int(dmy[3]), int(dmy[2]), int(dmy[1]))
    except ValueError:
        pass
    raise ValueError(f"unreadable date {text!r} (use 2026-11-20 or 20/11/2026)")


def parse_cents(text: str, column: str, required: bool) -> int | None:
    text = re.sub(r"^s/\.?\s*", "", text.strip().lower())
    if not text:
        if required:
            raise ValueError(f"{column} is empty")
        return None
    if re.fullmatch(r"\d+,\d{1,2}", text):
        text = text.replace(",", ".")
    if not re.fullmatch(r"\d+(\.\d{1,2})?", text):
        raise ValueError(f"{column} {text!r} is not a price in soles (e.g. 1.50)")
    whole, _, frac = text.partition(".")
    cents = int(whole) * 100 + int((frac + "00")[:2])
    if cents <= 0 or cents > MAX_CENTS:
        raise ValueError(f"{column} {text!r} is out of range")
    return cents


def parse_row(values: dict, line: int, today: date) -> Line:
    """Return the row as a Line, or raise ValueError with the reason it is rejected."""
    day = parse_date(values["fecha"])
    if day > today + timedelta(days=1):
        raise ValueError(f"date {day.isoformat()} is in the future")
    market, department = values["mercado"].strip(), values["departamento"].strip()
    if not market or not key(department):
        raise ValueError("mercado and departamento are required")
    if not key(values["producto"]):
        raise ValueError("producto is empty")
    product, variety = split_variety(values["producto"], values["variedad"])
    unit = UNITS.get(key(values["unidad"]) or values["unidad"].strip())
    if unit is None:
        raise ValueError(f"unknown unit {values['unidad'].strip()!r} (kg, saco, arroba, litro, unidad...)")
    low = parse_cents(values["precio_min"], "precio_min", False)
    avg = parse_cents(values["precio_prom"], "precio_prom", True)
    high = parse_cents(values["precio_max"], "precio_max", False)
    if (low is not None and low > avg) or (high is not None and high < avg):
        raise ValueError("prices must satisfy precio_min <= precio_prom <= precio_max")
    return Line(line, day, market[:120], key(department), product[:80], variety[:60], unit,
                low, avg, high)


def read_rows(text: str) -> tuple[list[tuple[int, dict]], str | None]:
    """Return (line number, row) pairs and the `# source:` comment, after checking the header."""
    lines = text.splitlines(keepends=True)
    source, start = None, 0
    while start < len(lines) and (not lines[start].strip() or lines[start].lstrip().startswith("#")):
        comment = lines[start].strip().lstrip("#").strip()
        found = re.match(r"(?i)(source|fuente)\s*:\s*(.+)", comment)
        source = found.group(2).strip()[:80] if found else source
        start += 1
    if start == len(lines):
        raise BulletinError("the file is empty: expected a header row " + ",".join(HEADER))
    delimiter = ";" if lines[start].count(";") > lines[start].count(",") else ","
    reader = csv.reader(io.StringIO("".join(lines[start:])), delimiter=delimiter)
    header = [key(h).replace(" ", "_") for h in next(reader)]
    missing = [h for h in HEADER if h not in header]
    if missing:
        raise BulletinError(f"line {start + 1}: wrong header, missing {', '.join(missing)}; "
                            f"expected {','.join(HEADER)}")
    rows = []
    for values in reader:
        number = start + reader.line_num
        if not any(v.strip() for v in values):
            continue
        rows.append((number, dict(zip(header, values)) if len(values) == len(header) else None))
    return rows, source


def import_prices(session: Session, path: Path, source: str | None = None,
                  progress: Callable[[Iterable], Iterable] | None = None,
                  today: date | None = None) -> PriceImport:
    """Import the bulletin at `path` in `session` (the caller commits); return what happened."""
    text = read_text(path)
    rows, file_source = read_rows(text)
    result = PriceImport(source=(source or file_source or DEFAULT_SOURCE)[:80])
    today = today or utcnow().date()
    good: dict[tuple, Line] = {}
    for number, values in (progress or iter)(rows):
        if values is None:
            result.rejected.append(RowError(number, f"expected {len(HEADER)} columns"))
            continue
        try:
            row = parse_row(values, number, today)
        except ValueError as exc:
            result.rejected.append(RowError(number, str(exc)))
            continue
        earlier = good.get(row.key)
        if earlier is not None and earlier.prices != row.prices:
            result.rejected.append(RowError(number, f"same market, product, date and unit as "
                                                    f"line {earlier.line} with other prices"))
        elif earlier is not None:
            result.unchanged += 1
        else:
            good[row.key] = row
    _store(session, list(good.values()), result, path.name)
    result.rejected.sort(key=lambda e: e.line)
    return result


def _markets(session: Session, lines: list[Line]) -> dict[str, Market]:
    keys = {key(line.market) for line in lines}
    found = {m.key: m for m in session.scalars(select(Market).where(Market.key.in_(keys)))}
    for line in lines:
        mkey = key(line.market)
        if mkey not in found:
            named = places_in(line.market)
            region = region_of_name(line.department) or line.department
            province = next((where[1] for _n, where in named if where[0] == region and where[1]), None)
            found[mkey] = Market(key=mkey, name=line.market, department=region, province=province,
                                 places=[name for name, _where in named])
            session.add(found[mkey])
    return found


def _products(session: Session, lines: list[Line]) -> dict[str, Product]:
    names = {line.product for line in lines}
    found = {p.name: p for p in session.scalars(select(Product).where(Product.name.in_(names)))}
    for line in lines:
        if line.product not in found:
            found[line.product] = Product(name=line.product, default_unit=line.unit,
                                          aliases=list(product_aliases().get(line.product, ())))
            session.add(found[line.product])
    return found


def _store(session: Session, lines: list[Line], result: PriceImport, source_file: str) -> None:
    if not lines:
        return
    markets, products = _markets(session, lines), _products(session, lines)
    session.flush()
    days = {line.day for line in lines}
    market_ids = {m.id for m in markets.values()}
    columns = (PriceReport.id, PriceReport.date, PriceReport.market_id, PriceReport.product_id,
               PriceReport.variety, PriceReport.unit, PriceReport.min_cents, PriceReport.avg_cents,
               PriceReport.max_cents, PriceReport.source)
    existing = {tuple(row[1:6]): (row[0], tuple(row[6:])) for row in session.execute(
        select(*columns).where(PriceReport.date.in_(days), PriceReport.market_id.in_(market_ids)))}
    now, new, changed = utcnow(), [], []
    for line in lines:
        market, product = markets[key(line.market)], products[line.product]
        found = existing.get((line.day, market.id, product.id, line.variety, line.unit))
        if found is None:
            new.append(dict(date=line.day, market_id=market.id, product_id=product.id,
                            variety=line.variety, unit=line.unit, min_cents=line.min_cents,
                            avg_cents=line.avg_cents, max_cents=line.max_cents,
                            source=result.source, source_file=source_file[:200], imported_at=now))
        elif found[1] == (*line.prices, result.source):
            result.unchanged += 1
        else:
            changed.append(dict(id=found[0], min_cents=line.min_cents, avg_cents=line.avg_cents,
                                max_cents=line.max_cents, source=result.source,
                                source_file=source_file[:200], imported_at=now))
    if new:
        session.execute(PriceReport.__table__.insert(), new)
    if changed:
        session.execute(update(PriceReport), changed)
    result.imported, result.updated = len(new), len(changed)

"""The sourced, dated support directory: the national lines (105, Línea 100) and the
Centros Emergencia Mujer by province.

Both the support conversation and an urgent hand-off quote the lines, so they live
here, not in flows/support.py (which imports flows/handoff.py).
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from nlu.rules import normalise

DIRECTORY_FILE = Path(__file__).resolve().parent / "data" / "support_directory.yml"
LINES_FILE = Path(__file__).resolve().parent / "data" / "support_lines.yml"
DEPARTMENTS = ("ancash", "arequipa", "cusco", "huancavelica", "junin", "lima", "piura", "puno")
ALIASES = {"cuzco": "cusco", "qosqo": "cusco", "canete": "canete", "huaraz": "huaraz"}



@lru_cache(maxsize=1)
def _lines() -> dict:
    with LINES_FILE.open(encoding="utf-8") as fh:
        return {line["id"]: line for line in yaml.safe_load(fh)["lines"]}


def support_numbers() -> dict:
    """Return {"police": "105", "line100": "100"} from the sourced, dated directory."""
    lines = _lines()
    return {"police": lines["police"]["number"], "line100": lines["linea100"]["number"]}

@dataclass(frozen=True)
class Centre:
    """One CEM that a public source names."""

    name: str
    department: str
    province: str
    address: str | None
    hours: str | None
    source: str
    url: str
    checked: str


def _key(text: str) -> str:
    return normalise(text).replace("ñ", "n")


@lru_cache(maxsize=1)
def centres() -> tuple[Centre, ...]:
    """Return every sourced centre, named ones first, then provinces known to have one."""
    data = yaml.safe_load(DIRECTORY_FILE.read_text(encoding="utf-8"))
    found = [Centre(c["name"], c["department"], _key(c["province"]), c.get("address"),
                    c.get("hours"), c["source"], c["url"], str(c["checked"]))
             for c in data["centres"]]
    named = {c.province for c in found}
    note = "MIMP, 2012-09, via radiolavozbaguagrande.blogspot.com"
    url = "http://radiolavozbaguagrande.blogspot.com/2012/09/ministra-de-la-mujer-reafirma-lucha.html"
    for department, provinces in (data.get("provinces_with_cem_2012") or {}).items():
        for province in provinces:
            if _key(province) not in named:
                found.append(Centre(f"CEM {province.title()}", department, _key(province), None,
                                    None, note, url, "2026-11-22"))
    return tuple(found)


def known_places() -> list[str]:
    """Return every province and department the directory can answer for."""
    return sorted({c.province for c in centres()} | set(DEPARTMENTS))


def parse_place(text: str) -> str | None:
    """Return the province or department a typed answer names, tolerating typos."""
    key = ALIASES.get(_key(text), _key(text))
    if not key:
        return None
    places = known_places()
    if key in places:
        return key
    for place in places:  # "vivo en jauja", "prov. de canchis"
        if f" {place} " in f" {key} ":
            return place
    close = difflib.get_close_matches(key, places, n=1, cutoff=0.8)
    return close[0] if close else None


def nearest(place: str | None) -> list[Centre]:
    """Return the centres of a province, else of a department (at most three)."""
    if not place:
        return []
    by_province = [c for c in centres() if c.province == place]
    if by_province:
        return by_province[:3]
    return [c for c in centres() if c.department == place][:3]

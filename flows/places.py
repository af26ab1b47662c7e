"""Map place names and UBIGEO codes to the program's regions (the 8 departments).

Pure data and functions: flows, the price importer and the alert importer use
them. Keys are normalised like NLU entity values (lower case, no accents).
"""
from __future__ import annotations

import re
from functools import lru_cache

from nlu.classifier import entity_value

REGIONS = ("ancash", "arequipa", "cusco", "huancavelica", "junin", "lima", "piura", "puno")
REGION_NAMES = {
    "ancash": "Áncash", "arequipa": "Arequipa", "cusco": "Cusco", "huancavelica": "Huancavelica",
    "junin": "Junín", "lima": "Lima", "piura": "Piura", "puno": "Puno",
}
# UBIGEO (INEI): the first two digits are the department.
UBIGEO_DEPARTMENTS = {
    "02": "ancash", "04": "arequipa", "08": "cusco", "09": "huancavelica",
    "12": "junin", "15": "lima", "20": "piura", "21": "puno",
}
# Province -> towns, districts and markets people name, per region.
_PLACES = {
    "ancash": {"huaraz": ["huaraz"], "carhuaz": ["carhuaz"], "yungay": ["yungay"],
               "huaylas": ["caraz"], "huari": ["huari", "chacas"], "recuay": ["recuay"],
               "pomabamba": ["pomabamba"], "sihuas": ["sihuas"], "santa": ["chimbote"],
               "casma": ["casma"], "huarmey": ["huarmey"]},
    "arequipa": {"arequipa": ["arequipa", "aqp", "rio seco", "avelino caceres", "el pedregal", "majes"],
                 "camana": ["camana"], "caylloma": ["caylloma", "chivay"],
                 "castilla": ["castilla", "aplao"], "condesuyos": ["condesuyos"],
                 "islay": ["islay", "mollendo"], "caraveli": ["caraveli"]},
    "cusco": {"cusco": ["cusco", "cuzco", "qosqo", "vinocanchon"], "urubamba": ["urubamba"],
              "calca": ["calca", "pisac"], "anta": ["anta"], "quispicanchi": ["quispicanchi", "urcos"],
              "canchis": ["canchis", "sicuani"], "espinar": ["espinar"],
              "chumbivilcas": ["chumbivilcas", "santo tomas"], "paruro": ["paruro"],
              "paucartambo": ["paucartambo"], "la convencion": ["la convencion", "quillabamba"],
              "acomayo": ["acomayo"]},
    "huancavelica": {"huancavelica": ["huancavelica"], "acobamba": ["acobamba"],
                     "angaraes": ["angaraes", "lircay"], "castrovirreyna": ["castrovirreyna"],
                     "churcampa": ["churcampa"], "huaytara": ["huaytara"], "tayacaja": ["tayacaja"]},
    "junin": {"huancayo": ["huancayo", "hyo", "raez patino"], "jauja": ["jauja"],
              "concepcion": ["concepcion"], "chupaca": ["chupaca"], "tarma": ["tarma"],
              "yauli": ["yauli", "la oroya"], "satipo": ["satipo"],
              "chanchamayo": ["chanchamayo", "la merced"]},
    "lima": {"lima": ["lima", "santa anita", "la parada", "chosica"], "huaral": ["huaral", "chancay"],
             "huaura": ["huacho"], "barranca": ["barranca"], "canete": ["canete"],
             "huarochiri": ["huarochiri"], "yauyos": ["yauyos"], "oyon": ["oyon"],
             "cajatambo": ["cajatambo"]},
    "piura": {"piura": ["piura", "catacaos"], "sullana": ["sullana"], "paita": ["paita"],
              "talara": ["talara"], "sechura": ["sechura"], "ayabaca": ["ayabaca"],
              "huancabamba": ["huancabamba"], "morropon": ["morropon", "chulucanas"]},
    "puno": {"puno": ["puno", "acora"], "san roman": ["san roman", "juliaca", "manco capac", "tupac amaru"],
             "el collao": ["el collao", "ilave"], "azangaro": ["azangaro"], "melgar": ["melgar", "ayaviri"],
             "huancane": ["huancane"], "chucuito": ["chucuito", "juli", "pomata", "desaguadero"],
             "yunguyo": ["yunguyo"], "san antonio de putina": ["putina"],
             "carabaya": ["carabaya", "macusani"]},
}
# place name -> (region, province); a department's own name maps to (region, None).
PLACES: dict[str, tuple[str, str | None]] = {}
for _region, _provinces in _PLACES.items():
    for _province, _names in _provinces.items():
        for _name in _names:
            PLACES.setdefault(_name, (_region, _province))
for _region in REGIONS:
    PLACES[_region] = (_region, None)
PLACES.update({"cuzco": ("cusco", None), "qosqo": ("cusco", None)})


@lru_cache(maxsize=16384)  # bulletins repeat the same market, product and unit names
def key(text: str) -> str:
    """Return `text` normalised like an entity value: lower case, no accents, ñ -> n."""
    return entity_value(text or "")


def region_of_name(name: str) -> str | None:
    """Return the region key of a department name ("Junín" -> "junin"), or None."""
    value = key(name)
    value = {"cuzco": "cusco", "qosqo": "cusco"}.get(value, value)
    return value if value in REGIONS else None


def place(name: str) -> tuple[str, str | None] | None:
    """Return (region, province) of a place name, or None when unknown."""
    return PLACES.get(key(name))


def places_in(text: str) -> list[tuple[str, tuple[str, str | None]]]:
    """Return the known places named in `text` as whole words, longest names first."""
    norm = f" {key(text)} "
    found = []
    for name in sorted(PLACES, key=len, reverse=True):
        if f" {name} " in norm:
            found.append((name, PLACES[name]))
            norm = norm.replace(f" {name} ", " | ")
    return found


def region_of_ubigeo(code: str) -> str | None:
    """Return the region of a UBIGEO code (2, 4 or 6 digits), or None outside the program."""
    code = re.sub(r"\D", "", code or "")
    return UBIGEO_DEPARTMENTS.get(code[:2]) if len(code) >= 2 else None


def regions_of_area(area_desc: str, geocodes: list[tuple[str, str]]) -> list[str]:
    """Return the regions an alert area covers: by UBIGEO geocodes, else by the names in it."""
    regions = [region_of_ubigeo(value) for name, value in geocodes if "ubigeo" in key(name)]
    found = sorted({r for r in regions if r})
    if found or any("ubigeo" in key(name) for name, _ in geocodes):
        return found
    return sorted({where[0] for _name, where in places_in(area_desc)})

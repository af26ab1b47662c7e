"""A shared WhatsApp location: where it falls (department, province), and the flow that saves it.

Offline and in pure Python: the department is the polygon of
data/geo/peru_departamentos.geojson that holds the point (ray casting); the
province is the one whose capital is nearest within that department
(data/geo/peru_capitales_provincia.json), an approximation of the province
outlines, which are not shipped (see data/geo/README.md). CAP `<polygon>` and
`<circle>` areas are tested against a point here too.

Flow (state `location`), only when she has not consented yet::

    location ──(consent given)──▶ saved ("Guardamos: Jauja, Junín")
       └──▶ "consent": 1 Sí ──▶ saved · 2 No ──▶ nothing stored

A point outside Peru, or in a department the program does not serve, gets a
clear reply and nothing is stored.
"""
from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from flows.base import Ctx, Effect, Result, State
from flows.catalog import t
from flows.options import numbered
from flows.places import REGION_NAMES, REGIONS, places_in
from nlu.rules import normalise

FLOW = "location"
GEO = Path(__file__).resolve().parent / "data" / "geo"
# The department outlines are thinned to about 1 km: a point just off one (a shore, a border)
# still counts when a province capital of the program is this close.
EDGE_KM = 25.0
EARTH_KM = 6371.0
YES = {"1", "si", "ari", "ok", "ya", "acepto", "jisa"}
NO = {"2", "no", "manam", "mana", "janiw"}


@dataclass(frozen=True)
class SharedLocation:
    """A location as WhatsApp sends it (Latitude, Longitude, optional Address and Label)."""

    latitude: float
    longitude: float
    address: str = ""
    label: str = ""


@dataclass(frozen=True)
class Where:
    """Where a point falls: `status` is "ok", "unsupported" (another department) or "outside"."""

    status: str
    region: str | None = None  # our region key, "junin"
    department: str | None = None  # the department's key, also outside the program ("ayacucho")
    province: str | None = None  # province key as flows/places uses it, "jauja"
    province_name: str | None = None  # "Jauja"


# ---- geometry ----
def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Return the great-circle distance between two points, in kilometres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_KM * math.asin(min(1.0, math.sqrt(a)))


def in_ring(ring: Sequence[tuple[float, float]], x: float, y: float) -> bool:
    """Return whether (x, y) lies inside the closed ring of (x, y) vertices (ray casting)."""
    inside = False
    j = len(ring) - 1
    for i in range(len(ring)):
        xi, yi = ring[i]
        xj, yj = ring[j]
        if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside


@lru_cache(maxsize=1)
def departments() -> tuple[tuple[str, tuple[tuple[tuple[float, float], ...], ...]], ...]:
    """Return (department key, outer rings as (lon, lat)) for every department of Peru."""
    data = json.loads((GEO / "peru_departamentos.geojson").read_text(encoding="utf-8"))
    found = []
    for feature in data["features"]:
        geometry = feature["geometry"]
        polygons = ([geometry["coordinates"]] if geometry["type"] == "Polygon"
                    else geometry["coordinates"])
        rings = tuple(tuple((float(x), float(y)) for x, y in polygon[0]) for polygon in polygons)
        found.append((feature["properties"]["nombre"], rings))
    return tuple(found)


@lru_cache(maxsize=1)
def capitals() -> tuple[dict, ...]:
    """Return the province capitals of the program's departments (ubigeo, names, lat, lon)."""
    data = json.loads((GEO / "peru_capitales_provincia.json").read_text(encoding="utf-8"))
    return tuple(data["provincias"])


def department_at(latitude: float, longitude: float) -> str | None:
    """Return the key of the department whose outline holds the point, or None."""
    for name, rings in departments():
        if any(in_ring(ring, longitude, latitude) for ring in rings):
            return name
    return None


def locate(latitude: float, longitude: float) -> Where:
    """Return the department and province of a point, offline."""
    department = department_at(latitude, longitude)
    pool = [c for c in capitals() if department is None or c["departamento"] == department]
    if not pool:
        return Where("unsupported", department=department)
    nearest = min(pool, key=lambda c: distance_km(latitude, longitude, c["lat"], c["lon"]))
    if department is None and distance_km(latitude, longitude, nearest["lat"], nearest["lon"]) > EDGE_KM:
        return Where("outside")
    region = nearest["departamento"]
    if region not in REGIONS:
        return Where("unsupported", department=region)
    return Where("ok", region, region, nearest["provincia"], nearest["nombre"])


def province_point(region: str, province: str | None) -> tuple[float, float] | None:
    """Return (lat, lon) of a province's capital (the department's first one when none)."""
    pool = [c for c in capitals() if c["departamento"] == region]
    named = [c for c in pool if province and c["provincia"] == province]
    chosen = (named or pool[:1])
    return (chosen[0]["lat"], chosen[0]["lon"]) if chosen else None


# ---- CAP areas ----
def parse_polygon(text: str) -> list[tuple[float, float]]:
    """Return the (lat, lon) vertices of a CAP <polygon> ("lat,lon lat,lon ..."); [] if unreadable."""
    points = []
    for pair in (text or "").split():
        try:
            lat, lon = (float(v) for v in pair.split(","))
        except ValueError:
            return []
        points.append((lat, lon))
    return points if len(points) >= 4 else []  # CAP: at least 4 pairs, the first one repeated


def parse_circle(text: str) -> tuple[float, float, float] | None:
    """Return (lat, lon, radius km) of a CAP <circle> ("lat,lon radius"), or None."""
    try:
        centre, radius = (text or "").split()
        lat, lon = (float(v) for v in centre.split(","))
        return lat, lon, float(radius)
    except ValueError:
        return None


@dataclass(frozen=True)
class Shapes:
    """An area's CAP polygons (as (lon, lat) rings) and circles (lat, lon, km), parsed once."""

    rings: tuple
    circles: tuple

    def hold(self, latitude: float, longitude: float) -> bool:
        """Return whether the point lies in one of the polygons or circles."""
        return (any(in_ring(ring, longitude, latitude) for ring in self.rings)
                or any(distance_km(latitude, longitude, lat, lon) <= km for lat, lon, km in self.circles))


def shapes(polygons: list[str], circles: list[str]) -> Shapes:
    """Parse an area's CAP <polygon> and <circle> texts (the unreadable ones are left out)."""
    rings = [tuple((lon, lat) for lat, lon in parse_polygon(text)) for text in polygons or []]
    parsed = [parse_circle(text) for text in circles or []]
    return Shapes(tuple(r for r in rings if r), tuple(c for c in parsed if c))


def bounds(polygons: list[str], circles: list[str]) -> tuple[float, float, float, float] | None:
    """Return (south, north, west, east) around every polygon and circle, or None without any."""
    lats, lons = [], []
    for text in polygons or []:
        for lat, lon in parse_polygon(text):
            lats.append(lat)
            lons.append(lon)
    for text in circles or []:
        circle = parse_circle(text)
        if circle:
            lat, lon, km = circle
            dlat = km / 111.0
            dlon = km / max(1e-6, 111.0 * math.cos(math.radians(lat)))
            lats += [lat - dlat, lat + dlat]
            lons += [lon - dlon, lon + dlon]
    return (min(lats), max(lats), min(lons), max(lons)) if lats else None


@lru_cache(maxsize=1)
def program_bounds() -> tuple[float, float, float, float]:
    """Return (south, north, west, east) around the program's departments."""
    rings = [ring for name, polygons in departments() if name in REGIONS for ring in polygons]
    lons = [x for ring in rings for x, _y in ring]
    lats = [y for ring in rings for _x, y in ring]
    return min(lats), max(lats), min(lons), max(lons)


def near_program(polygons: list[str], circles: list[str]) -> bool:
    """Tell whether CAP shapes come near the program's departments (their boxes overlap)."""
    box = bounds(polygons, circles)
    if box is None:
        return False
    south, north, west, east = program_bounds()
    return box[0] <= north and box[1] >= south and box[2] <= east and box[3] >= west


# ---- nearest market ----
def market_point(name: str, region: str) -> tuple[float, float] | None:
    """Return where a market is: the capital of the province its name names, else of its region."""
    for _name, (where_region, province) in places_in(name):
        if where_region == region and province:
            return province_point(region, province)
    return province_point(region, None)


def nearest(rows: list, latitude: float, longitude: float) -> list:
    """Return the price rows of the market nearest the point (rows of flows.records.PriceView)."""
    def km(row):
        point = market_point(row.market.name, row.market.region)
        return distance_km(latitude, longitude, *point) if point else float("inf")

    if not rows:
        return []
    best = min(rows, key=km).market.id
    return [row for row in rows if row.market.id == best]


# ---- the flow ----
def receive(ctx: Ctx) -> Result:
    """Answer a shared location: say where it is and save it, asking consent first if needed."""
    shared = ctx.location
    where = locate(shared.latitude, shared.longitude)
    if where.status == "outside":
        return Result([t("location_outside_peru", ctx.lang)], FLOW)
    if where.status == "unsupported":
        return Result([t("location_unsupported", ctx.lang,
                         department=(where.department or "").title())], FLOW)
    values = profile(where, shared)
    if ctx.contact.has_consent:
        return Result([saved_text(ctx, where)], FLOW, effects=[Effect("set_profile", values)])
    # The same consent question as onboarding (its version is what she agrees to).
    text = numbered(f"{t('location_found', ctx.lang, place=place_text(where))} "
                    f"{t('consent_ask', ctx.lang)}", 2)
    return Result([text], FLOW, State(FLOW, "consent", {"values": values,
                                                       "place": place_text(where)}))


def step(ctx: Ctx) -> Result | None:
    """Take the yes or no to saving the location."""
    answer = normalise(ctx.text)
    data = ctx.state.data
    if answer in YES or ctx.parse.intent == "affirm":
        text = t("location_saved", ctx.lang, place=data["place"])
        return Result([text], FLOW, effects=[Effect("consent"), Effect("set_profile", data["values"])])
    if answer in NO or ctx.parse.intent == "deny":
        return Result([t("location_not_saved", ctx.lang)], FLOW)
    return None


def profile(where: Where, shared: SharedLocation) -> dict:
    """Return the set_profile values of a located contact (region, province and the point)."""
    return {"region": where.region, "province": where.province,
            "latitude": round(shared.latitude, 5), "longitude": round(shared.longitude, 5)}


def place_text(where: Where) -> str:
    """Return "Jauja, Junín"."""
    return f"{where.province_name}, {REGION_NAMES.get(where.region, where.region)}"


def saved_text(ctx: Ctx, where: Where) -> str:
    return t("location_saved", ctx.lang, place=place_text(where))

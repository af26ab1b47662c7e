"""Draw Peru's departments as SVG paths from the shipped outlines (flows/data/geo/README.md)."""
from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path

from flows.places import region_of_name

GEO_FILE = Path(__file__).resolve().parents[2] / "flows" / "data" / "geo" / "peru_departamentos.geojson"


@lru_cache(maxsize=1)
def _shapes(width: int) -> tuple[list[dict], int]:
    """Return each department's name, region key and SVG path, and the drawing's height."""
    if not GEO_FILE.exists():
        return [], 0
    features = json.loads(GEO_FILE.read_text(encoding="utf-8"))["features"]
    rings = [(f, ring) for f in features for ring in _rings(f["geometry"])]
    lons = [p[0] for _f, ring in rings for p in ring]
    lats = [p[1] for _f, ring in rings for p in ring]
    west, east, south, north = min(lons), max(lons), min(lats), max(lats)
    squash = math.cos(math.radians((north + south) / 2))  # equirectangular at Peru's mid-latitude
    scale = width / ((east - west) * squash)
    height = round((north - south) * scale)
    shapes = []
    for feature in features:
        d = " ".join("M" + " L".join(f"{(x - west) * squash * scale:.1f},{(north - y) * scale:.1f}"
                                     for x, y in ring) + " Z" for ring in _rings(feature["geometry"]))
        name = feature["properties"]["nombre"]
        shapes.append({"name": name, "region": region_of_name(name), "d": d})
    return shapes, height


def _rings(geometry: dict) -> list[list]:
    if geometry["type"] == "Polygon":
        return geometry["coordinates"]
    return [ring for polygon in geometry["coordinates"] for ring in polygon]


def department_map(levels: dict[str, str], width: int = 360) -> dict | None:
    """Return the map's geometry coloured by `levels` (region -> level), or None without outlines."""
    shapes, height = _shapes(width)
    if not shapes:
        return None
    return {"width": width, "height": height,
            "shapes": [{**s, "level": levels.get(s["region"]) if s["region"] else None} for s in shapes]}

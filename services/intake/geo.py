"""Where a complaint is: the district (구·군) named in an address, or the one a point lies in
(point in polygon against administrative boundaries).

Pure: the boundaries are parsed from GeoJSON text the caller reads (:func:`busan` reads the file
shipped in ``services/intake/data``); the point-in-polygon test is ray casting (even-odd rule,
holes included). The shipped Busan boundaries are APPROXIMATE (docs/districts.md and
``data/build_busan_districts.py``): good away from a boundary, a fallback for requests that carry
only coordinates.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

DATA_DIR = Path(__file__).with_name("data")
BUSAN_FILE = DATA_DIR / "busan_districts.geojson"

Ring = tuple[tuple[float, float], ...]  # (longitude, latitude) pairs, GeoJSON order
Polygon = tuple[Ring, ...]  # the outer ring, then holes


_DISTRICT = re.compile(r"^\S+(?:구|군)$")
_CITY = re.compile(r"^\S+시$")
_METRO = ("광역시", "특별시", "특별자치시")


def district_of(address: str | None) -> str | None:
    """The district (구·군, else a city 시 that is not a metropolitan one) named in an address."""
    tokens = (address or "").split()
    for token in tokens:
        if _DISTRICT.match(token):
            return token
    for token in tokens:
        if _CITY.match(token) and not token.endswith(_METRO):
            return token
    return None


def district_for(district: str | None, *addresses: str | None) -> str:
    """The district as given, else the first one named in ``addresses`` (the place of the problem
    first, then the citizen's address); empty when none names one."""
    given = (district or "").strip()
    if given:
        return given
    return next((found for found in map(district_of, addresses) if found), "")


class BoundaryError(ValueError):
    """GeoJSON that is not a collection of named (Multi)Polygon features."""


@dataclass(frozen=True)
class Area:
    """One administrative area: its name (``해운대구``), its polygons and their bounding box."""

    name: str
    polygons: tuple[Polygon, ...]
    box: tuple[float, float, float, float]  # west, south, east, north

    def contains(self, lon: float, lat: float) -> bool:
        west, south, east, north = self.box
        if not (west <= lon <= east and south <= lat <= north):
            return False
        return any(_in_polygon(lon, lat, polygon) for polygon in self.polygons)


def parse_boundaries(text: str) -> tuple[Area, ...]:
    """A GeoJSON FeatureCollection whose features carry ``properties.name`` and a Polygon or
    MultiPolygon geometry."""
    try:
        data = json.loads(text)
        features = data["features"]
        areas = tuple(_area(f) for f in features)
    except (ValueError, KeyError, TypeError, IndexError) as error:
        raise BoundaryError(f"not administrative boundaries: {error}") from None
    if not areas:
        raise BoundaryError("no area in the boundaries")
    return areas


def district_at(areas: Sequence[Area], lat: float, lon: float) -> str | None:
    """The name of the first area containing (``lat``, ``lon``), or None (outside every one)."""
    return next((a.name for a in areas if a.contains(lon, lat)), None)


@functools.cache
def busan() -> tuple[Area, ...]:
    """Busan's 16 구·군 (approximate), read once from the shipped file."""
    return parse_boundaries(BUSAN_FILE.read_text(encoding="utf-8"))


def _area(feature: dict[str, object]) -> Area:
    name = str(feature["properties"]["name"])  # type: ignore[index]
    geometry = feature["geometry"]
    kind, coordinates = geometry["type"], geometry["coordinates"]  # type: ignore[index]
    raw = [coordinates] if kind == "Polygon" else coordinates if kind == "MultiPolygon" else None
    if raw is None or not name:
        raise BoundaryError(f"feature {name!r}: a named Polygon or MultiPolygon is expected")
    polygons = tuple(tuple(tuple((float(x), float(y)) for x, y, *_ in ring) for ring in polygon) for polygon in raw)
    points = [p for polygon in polygons for p in polygon[0]]
    box = (min(p[0] for p in points), min(p[1] for p in points), max(p[0] for p in points), max(p[1] for p in points))
    return Area(name, polygons, box)


def _in_ring(x: float, y: float, ring: Ring) -> bool:
    """Ray casting: a ray to the east crosses the ring's edges an odd number of times."""
    inside = False
    for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=True):
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def _in_polygon(x: float, y: float, polygon: Polygon) -> bool:
    outer, *holes = polygon
    return _in_ring(x, y, outer) and not any(_in_ring(x, y, hole) for hole in holes)

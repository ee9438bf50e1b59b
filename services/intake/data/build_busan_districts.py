"""Builds ``busan_districts.geojson``: APPROXIMATE boundaries of Busan's 16 구·군.

Method (docs/districts.md): each district is given a few reference
points (its office and well-known places inside it, coordinates written down from general
knowledge, rounded to about 100 m); every point of the plane belongs to the nearest reference point
(a Voronoi partition, distances measured with longitude scaled by cos 35.15°); the cells of a
district's points form its MultiPolygon, each cell clipped to a hand-drawn outline of the city
(coast and land boundary, a few kilometres of accuracy). Near a real boundary the answer can be
wrong; the file is a fallback for requests that carry only coordinates, never a cadastral source.

Run: ``python services/intake/data/build_busan_districts.py`` (standard library only).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

Point = tuple[float, float]  # (longitude, latitude)

#: Reference points per district: (longitude, latitude).
SITES: dict[str, list[Point]] = {
    "중구": [(129.0323, 35.1063), (129.0365, 35.0985), (129.0400, 35.1120)],
    "서구": [(129.0243, 35.0979), (129.0180, 35.1120), (129.0150, 35.0750), (129.0160, 35.1300)],
    "동구": [(129.0454, 35.1294), (129.0390, 35.1170), (129.0560, 35.1380)],
    "영도구": [(129.0679, 35.0911), (129.0850, 35.0560), (129.0500, 35.0800), (129.0650, 35.0750)],
    "부산진구": [
        (129.0531, 35.1630),
        (129.0597, 35.1578),
        (129.0220, 35.1520),
        (129.0500, 35.1800),
        (129.0380, 35.1640),
        (129.0600, 35.1470),
        (129.0660, 35.1550),
    ],
    "동래구": [(129.0837, 35.2049), (129.0850, 35.2200), (129.0630, 35.1960), (129.1030, 35.2050)],
    "남구": [
        (129.0843, 35.1366),
        (129.1120, 35.1140),
        (129.0680, 35.1380),
        (129.0760, 35.1250),
        (129.1230, 35.1000),
        (129.0980, 35.1300),
    ],
    "북구": [(129.0040, 35.1970), (129.0130, 35.2350), (128.9980, 35.2050), (129.0170, 35.2600), (129.0370, 35.2130)],
    "해운대구": [
        (129.1635, 35.1631),
        (129.1604, 35.1587),
        (129.1310, 35.1690),
        (129.1780, 35.1700),
        (129.1250, 35.2000),
        (129.2000, 35.1790),
        (129.1220, 35.1890),
        (129.1500, 35.1900),
    ],
    "사하구": [
        (128.9749, 35.1046),
        (128.9660, 35.0470),
        (128.9660, 35.1060),
        (128.9930, 35.1000),
        (129.0100, 35.0880),
        (128.9770, 35.0780),
    ],
    "금정구": [
        (129.0922, 35.2429),
        (129.0800, 35.2330),
        (129.0950, 35.2840),
        (129.1050, 35.2180),
        (129.0680, 35.2840),
        (129.0920, 35.2500),
    ],
    "강서구": [
        (128.9807, 35.2122),
        (128.9100, 35.0950),
        (128.8550, 35.0900),
        (128.8300, 35.0400),
        (128.9480, 35.1750),
        (128.9300, 35.2200),
        (128.8750, 35.0850),
        (128.8900, 35.1500),
    ],
    "연제구": [(129.0797, 35.1762), (129.0830, 35.1860), (129.0700, 35.1900), (129.0960, 35.1830)],
    "수영구": [(129.1131, 35.1456), (129.1180, 35.1530), (129.1300, 35.1550), (129.1100, 35.1730), (129.1150, 35.1680)],
    "사상구": [
        (128.9910, 35.1526),
        (128.9850, 35.1620),
        (128.9840, 35.1720),
        (129.0040, 35.1500),
        (128.9920, 35.1450),
        (128.9730, 35.1260),
        (128.9900, 35.1850),
    ],
    "기장군": [
        (129.2222, 35.2445),
        (129.1800, 35.3220),
        (129.2330, 35.2620),
        (129.2500, 35.3100),
        (129.1500, 35.2700),
        (129.2100, 35.2100),
        (129.2750, 35.3400),
    ],
}

#: The city's outline, counter-clockwise from the northern tip (approximate).
OUTLINE: list[Point] = [
    (129.200, 35.390),
    (129.150, 35.380),
    (129.130, 35.330),
    (129.080, 35.300),
    (129.000, 35.290),
    (128.970, 35.260),
    (128.950, 35.250),
    (128.920, 35.190),
    (128.860, 35.170),
    (128.790, 35.130),
    (128.760, 35.100),
    (128.780, 35.030),
    (128.860, 35.000),
    (128.960, 35.020),
    (129.000, 35.040),
    (129.100, 35.040),
    (129.130, 35.095),
    (129.170, 35.150),
    (129.220, 35.180),
    (129.270, 35.260),
    (129.300, 35.360),
]

SCALE = math.cos(math.radians(35.15))


def _plane(p: Point) -> Point:
    return (p[0] * SCALE, p[1])


def _geo(p: Point) -> Point:
    return (round(p[0] / SCALE, 5), round(p[1], 5))


def _clip(polygon: list[Point], a: Point, b: Point) -> list[Point]:
    """The part of a convex ``polygon`` nearer to ``a`` than to ``b`` (one half-plane)."""
    nx, ny = b[0] - a[0], b[1] - a[1]
    c = (b[0] ** 2 + b[1] ** 2 - a[0] ** 2 - a[1] ** 2) / 2

    def inside(p: Point) -> bool:
        return p[0] * nx + p[1] * ny <= c

    def cross(p: Point, q: Point) -> Point:
        fp, fq = p[0] * nx + p[1] * ny - c, q[0] * nx + q[1] * ny - c
        t = fp / (fp - fq)
        return (p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1]))

    out: list[Point] = []
    for i, p in enumerate(polygon):
        q = polygon[(i + 1) % len(polygon)]
        if inside(p):
            out.append(p)
            if not inside(q):
                out.append(cross(p, q))
        elif inside(q):
            out.append(cross(p, q))
    return out


def _clip_to(subject: list[Point], clipper: list[Point]) -> list[list[Point]]:
    """The parts of the convex ``subject`` inside the simple polygon ``clipper``: the outline is
    not convex, so it is cut into triangles (ear clipping) and the cell clipped by each."""
    pieces = []
    for tri in _triangles(clipper):
        part = subject
        for i in range(3):
            a, b = tri[i], tri[(i + 1) % 3]
            part = _clip_edge(part, a, b)
            if not part:
                break
        if len(part) >= 3:
            pieces.append(part)
    return pieces


def _clip_edge(polygon: list[Point], a: Point, b: Point) -> list[Point]:
    """Keep the left of the directed edge a→b (counter-clockwise triangles keep their inside)."""

    def side(p: Point) -> float:
        return (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0])

    out: list[Point] = []
    for i, p in enumerate(polygon):
        q = polygon[(i + 1) % len(polygon)]
        sp, sq = side(p), side(q)
        if sp >= 0:
            out.append(p)
        if (sp >= 0) != (sq >= 0):
            t = sp / (sp - sq)
            out.append((p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])))
    return out


def _area2(poly: list[Point]) -> float:
    return sum(p[0] * q[1] - q[0] * p[1] for p, q in zip(poly, poly[1:] + poly[:1], strict=True))


def _triangles(polygon: list[Point]) -> list[list[Point]]:
    """Ear clipping of a simple counter-clockwise polygon."""
    pts = list(polygon) if _area2(polygon) > 0 else list(reversed(polygon))
    out = []
    while len(pts) > 3:
        for i in range(len(pts)):
            a, b, c = pts[i - 1], pts[i], pts[(i + 1) % len(pts)]
            if _area2([a, b, c]) <= 0:
                continue
            if any(_in_triangle(p, a, b, c) for p in pts if p not in (a, b, c)):
                continue
            out.append([a, b, c])
            del pts[i]
            break
        else:  # pragma: no cover - a degenerate outline
            raise ValueError("the outline is not a simple polygon")
    out.append(pts)
    return out


def _in_triangle(p: Point, a: Point, b: Point, c: Point) -> bool:
    return all(_area2([x, y, p]) >= 0 for x, y in ((a, b), (b, c), (c, a)))


def build() -> dict[str, object]:
    sites = [(name, _plane(p)) for name, points in SITES.items() for p in points]
    outline = [_plane(p) for p in OUTLINE]
    xs, ys = [p[0] for p in outline], [p[1] for p in outline]
    box = [
        (min(xs) - 1, min(ys) - 1),
        (max(xs) + 1, min(ys) - 1),
        (max(xs) + 1, max(ys) + 1),
        (min(xs) - 1, max(ys) + 1),
    ]
    cells: dict[str, list[list[list[Point]]]] = {name: [] for name in SITES}
    for i, (name, site) in enumerate(sites):
        cell = box
        for j, (_, other) in enumerate(sites):
            if i != j:
                cell = _clip(cell, site, other)
        for piece in _clip_to(cell, outline):
            ring = [_geo(p) for p in piece]
            cells[name].append([[*ring, ring[0]]])
    features = [
        {
            "type": "Feature",
            "properties": {"name": name, "sido": "부산광역시", "approximate": True},
            "geometry": {"type": "MultiPolygon", "coordinates": polygons},
        }
        for name, polygons in cells.items()
    ]
    return {
        "type": "FeatureCollection",
        "name": "busan_districts (approximate: Voronoi of reference points, clipped to a drawn outline)",
        "features": features,
    }


if __name__ == "__main__":
    target = Path(__file__).with_name("busan_districts.geojson")
    target.write_text(json.dumps(build(), ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"wrote {target}")

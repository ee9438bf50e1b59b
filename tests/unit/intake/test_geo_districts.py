"""Where a complaint is: the district named in an address, or the one a point lies in (ray casting
against the shipped, approximate boundaries of Busan's 16 구·군)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from minwon.errors import Invalid
from services.intake import domain, geo
from services.intake.domain import Filing, Identity
from services.intake.open311 import filing_of

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
MAX_AGE = timedelta(days=30)


@pytest.mark.parametrize(
    ("place", "lat", "lon", "district"),
    [
        ("해운대해수욕장", 35.1587, 129.1604, "해운대구"),
        ("부산시청", 35.1798, 129.0750, "연제구"),
        ("서면", 35.1578, 129.0597, "부산진구"),
        ("광안리해수욕장", 35.1532, 129.1186, "수영구"),
        ("자갈치시장", 35.0966, 129.0306, "중구"),
        ("태종대", 35.0530, 129.0870, "영도구"),
        ("부산대학교", 35.2320, 129.0840, "금정구"),
        ("다대포해수욕장", 35.0470, 128.9660, "사하구"),
        ("김해국제공항", 35.1730, 128.9460, "강서구"),
        ("기장시장", 35.2440, 129.2180, "기장군"),
        ("사상역", 35.1620, 128.9850, "사상구"),
        ("구포시장", 35.2050, 129.0000, "북구"),
        ("온천장", 35.2200, 129.0850, "동래구"),
        ("부산역", 35.1152, 129.0422, "동구"),
        ("UN기념공원", 35.1275, 129.0970, "남구"),
        ("송도해수욕장", 35.0758, 129.0170, "서구"),
    ],
)
def test_known_places_fall_in_their_district(place: str, lat: float, lon: float, district: str) -> None:
    assert geo.district_at(geo.busan(), lat, lon) == district, place


@pytest.mark.parametrize(
    ("lat", "lon"), [(35.3350, 129.0370), (35.2285, 128.8894), (35.10, 129.40), (37.5665, 126.978)]
)
def test_points_outside_busan_have_no_district(lat: float, lon: float) -> None:
    """양산시청, 김해시청, the open sea, Seoul City Hall."""
    assert geo.district_at(geo.busan(), lat, lon) is None


def test_the_shipped_file_has_the_sixteen_districts_marked_approximate() -> None:
    areas = geo.busan()
    assert len(areas) == 16 and len({a.name for a in areas}) == 16
    data = json.loads(geo.BUSAN_FILE.read_text(encoding="utf-8"))
    assert all(f["properties"]["approximate"] is True for f in data["features"])


def test_ray_casting_with_a_hole_and_a_polygon() -> None:
    square = [[0, 0], [4, 0], [4, 4], [0, 4], [0, 0]]
    hole = [[1, 1], [3, 1], [3, 3], [1, 3], [1, 1]]
    text = json.dumps(
        {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "properties": {"name": "ring"},
                    "geometry": {"type": "Polygon", "coordinates": [square, hole]},
                },
                {
                    "type": "Feature",
                    "properties": {"name": "core"},
                    "geometry": {"type": "Polygon", "coordinates": [hole]},
                },
            ],
        }
    )
    areas = geo.parse_boundaries(text)
    assert geo.district_at(areas, 0.5, 0.5) == "ring"  # (lat, lon)
    assert geo.district_at(areas, 2, 2) == "core"  # in the hole of the ring
    assert geo.district_at(areas, 5, 2) is None and geo.district_at(areas, 2, -0.1) is None


@pytest.mark.parametrize(
    "text",
    [
        "",
        "{}",
        '{"features": []}',
        '{"features": [{"properties": {"name": "x"}, "geometry": {"type": "Point", "coordinates": [1, 2]}}]}',
    ],
)
def test_boundaries_that_do_not_read_are_refused(text: str) -> None:
    with pytest.raises(geo.BoundaryError):
        geo.parse_boundaries(text)


def test_the_district_comes_from_the_place_then_the_address() -> None:
    assert geo.district_for("수영구", "부산광역시 해운대구 우동") == "수영구"
    assert geo.district_for("", "부산광역시 해운대구 우동 1", "부산광역시 남구 대연동") == "해운대구"
    assert geo.district_for(" ", None, "부산광역시 남구 대연동") == "남구"
    assert geo.district_for("", "광안대교 아래", None) == ""


def test_open311_coordinates_alone_give_the_district() -> None:
    fields = {
        "service_code": "road",
        "lat": "35.1587",
        "long": "129.1604",
        "first_name": "길동",
        "last_name": "홍",
        "phone": "010-1234-5678",
        "description": "도로 파손",
    }
    assert filing_of(fields).district == "해운대구"
    assert filing_of({**fields, "address_string": "부산광역시 남구 대연동 1"}).district == "남구"  # the address first
    assert filing_of({**fields, "lat": "35.3350", "long": "129.0370"}).district == "미상"  # outside Busan


def _filing(**changes: object) -> Filing:
    base = Filing(
        identity=Identity(name="김민원", phone="010-1111-2222", address="부산광역시 남구 대연동 1"),
        title="불법 주차",
        body="매일 불법 주차가 있습니다",
        kind="other",
        category="traffic",
        district="",
        channel="online",
        location="부산광역시 수영구 광안동 앞",
    )
    return replace(base, **changes)


def test_a_filing_without_a_district_takes_it_from_its_location_or_address() -> None:
    complaint, _ = domain.register(
        _filing(),
        receipt_no="2026-BUSAN-0000001",
        code="ABC123",
        complainant_ref="p-1",
        sealed="k1:xx",
        received_at=NOW,
        now=NOW,
        source="t",
    )
    assert complaint.district == "수영구"
    assert domain.district_of_filing(_filing(location=None)) == "남구"
    assert domain.district_of_filing(_filing(district="동래구")) == "동래구"
    domain.check_filing(_filing(location=None), NOW, max_age=MAX_AGE)
    with pytest.raises(Invalid) as refused:
        domain.check_filing(_filing(location=None, identity=Identity(name="김민원", phone="010")), NOW, max_age=MAX_AGE)
    assert refused.value.field == "district"

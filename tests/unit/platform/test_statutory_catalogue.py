"""One statutory-type vocabulary: the catalogue resolves a code, a Korean name or an alias to the same
type, and routing and deadline agree on the department and the period whichever name a filing uses."""

from __future__ import annotations

import json

import pytest

from minwon import statutory
from services.deadline import domain as deadline
from services.routing import domain as routing
from services.routing.handlers import _rule, statutory_names
from services.routing.settings import DATA_DIR as ROUTING_DATA

CATALOGUE = statutory.catalogue()
TYPES = deadline.load_statutory_types(statutory.CATALOGUE_PATH.read_text("utf-8"))
RULES = [_rule(r) for r in json.loads((ROUTING_DATA / "rules.json").read_text("utf-8"))]
DEPARTMENTS = {d["code"] for d in json.loads((ROUTING_DATA / "departments.json").read_text("utf-8"))}


def test_the_catalogue_ships_the_common_types_with_korean_names() -> None:
    assert len(CATALOGUE) >= 20
    assert all(any("\uac00" <= ch <= "\ud7a3" for ch in e.name_ko) for e in CATALOGUE)
    assert {e.department_hint for e in CATALOGUE} <= DEPARTMENTS


@pytest.mark.parametrize("name", ["building_permit", "건축허가", "건축 허가", "BUILDING_PERMIT"])
def test_a_code_a_korean_name_or_an_alias_resolves_to_the_same_type(name: str) -> None:
    entry = CATALOGUE.resolve(name)
    assert entry is not None and entry.code == "building_permit"
    assert deadline.find_statutory_type(TYPES, name).code == "building_permit"


def test_an_unknown_name_resolves_to_nothing_and_close_matches_are_offered() -> None:
    assert CATALOGUE.resolve("건축허거") is None and CATALOGUE.resolve("") is None
    assert CATALOGUE.close_matches("건축허거")[0] == "건축허가 (building_permit)"
    with pytest.raises(deadline.UnknownStatutoryType):
        deadline.find_statutory_type(TYPES, "건축허거")


@pytest.mark.parametrize("entry", list(CATALOGUE), ids=lambda e: e.code)
def test_routing_and_deadline_agree_whichever_name_is_filed(entry: statutory.Entry) -> None:
    outcomes = set()
    for name in entry.names:
        facts = routing.Facts(
            kind="statutory",
            category="",
            district="",
            channel="online",
            statutory_type=name,
            statutory_names=statutory_names(name),
        )
        found = routing.match(RULES, facts, default_department="complaint-office")
        period = deadline.find_statutory_type(TYPES, name).period
        outcomes.add((found.rule.id, found.rule.department, str(period)))
    assert len(outcomes) == 1, outcomes


def test_building_permit_routes_to_the_building_department_by_code_and_by_name() -> None:
    for name in ("building_permit", "건축허가"):
        facts = routing.Facts(
            kind="statutory",
            category="",
            district="",
            channel="online",
            statutory_type=name,
            statutory_names=statutory_names(name),
        )
        assert routing.match(RULES, facts, default_department="complaint-office").rule.department == "building"
    assert str(deadline.find_statutory_type(TYPES, "건축허가").period) == "10d"


def test_a_name_used_by_two_types_is_refused() -> None:
    row = {"code": "a", "name_ko": "가", "name_en": "A", "period": "7d", "department_hint": "road"}
    with pytest.raises(statutory.CatalogueError):
        statutory.parse({"types": [row, {**row, "code": "b", "aliases": ["가"]}]})

"""Intake checks what the other services will hold it to, before the citizen is told anything: the
statutory type against the catalogue, an extension against the deadline service's rule."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from minwon import extensions, statutory
from minwon.errors import Conflict, Invalid
from services.intake import domain
from tests.unit.intake.test_domain import SRC, filing, registered

NOW = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
CATALOGUE = statutory.catalogue()


@pytest.mark.parametrize("name", ["건축허가", "building_permit", "건축 허가"])
def test_a_statutory_type_named_either_way_is_recorded_by_its_code(name: str) -> None:
    assert domain.statutory_code(filing(kind="statutory", statutory_type=name), CATALOGUE) == "building_permit"


def test_an_unknown_type_is_refused_with_the_closest_names() -> None:
    with pytest.raises(Invalid) as caught:
        domain.statutory_code(filing(kind="statutory", statutory_type="건축허거"), CATALOGUE)
    assert caught.value.field == "statutory_type" and "건축허가 (building_permit)" in str(caught.value)


def test_only_a_statutory_complaint_has_a_type() -> None:
    with pytest.raises(Invalid) as caught:
        domain.statutory_code(filing(kind="grievance", statutory_type="건축허가"), CATALOGUE)
    assert caught.value.field == "statutory_type"
    assert domain.statutory_code(filing(kind="grievance"), CATALOGUE) is None


def test_a_first_extension_longer_than_the_original_period_is_refused_before_anyone_is_told() -> None:
    seven_days = registered()
    with pytest.raises(Invalid) as caught:
        domain.extend(seven_days, reason="현장 조사", period="30d", citizen_consent=False, now=NOW, source=SRC)
    assert caught.value.field == "period"
    once, events = domain.extend(
        seven_days, reason="현장 조사", period="7d", citizen_consent=False, now=NOW, source=SRC
    )
    assert once.extensions == 1 and events
    # the refused one did not count: the second needs consent because the first was granted
    with pytest.raises(Conflict):
        domain.extend(once, reason="추가", period="3d", citizen_consent=False, now=NOW, source=SRC)


def test_an_extension_waits_for_the_clock_to_know_the_period() -> None:
    unknown = replace(registered(), period=None)
    with pytest.raises(Conflict):
        domain.extend(unknown, reason="조사", period=None, citizen_consent=False, now=NOW, source=SRC)


@pytest.mark.parametrize(
    ("original", "requested", "allowed"),
    [
        ("7d", "7d", True),
        ("7d", "30d", False),
        ("7d", "40h", True),
        ("7d", "2w", False),
        ("14d", "2w", True),
        ("1m", "20d", True),
        ("10d", "3w", False),
        ("immediate", "3h", True),
    ],
)
def test_the_shared_rule_compares_periods_in_working_time(original: str, requested: str, allowed: bool) -> None:
    if allowed:
        extensions.check_extension(original=original, requested=requested, granted=0, citizen_consent=False)
    else:
        with pytest.raises(Invalid):
            extensions.check_extension(original=original, requested=requested, granted=0, citizen_consent=False)


def test_a_period_that_is_not_one_names_the_field() -> None:
    with pytest.raises(Invalid) as caught:
        extensions.check_extension(original="7d", requested="a month", granted=0, citizen_consent=False)
    assert caught.value.field == "period"
    assert timedelta(hours=extensions.working_hours("2w")) == timedelta(hours=80)


def test_the_citizen_is_given_the_department_phone_when_no_handler_is_named() -> None:
    routed = domain.note_routed(
        registered(),
        department="road",
        department_name="도로관리과",
        department_phone="051-000-2060",
        at=NOW.isoformat(),
    )
    assert domain.accountable(routed)["contact"] == "051-000-2060"
    handled = domain.note_assigned(
        routed,
        handler={"id": "road-01", "name": "임성훈", "contact": "051-000-2061"},
        department="road",
        at=NOW.isoformat(),
    )
    assert domain.accountable(handled)["contact"] == "051-000-2061"
    moved = domain.note_routed(handled, department="parks", at=NOW.isoformat())
    assert moved.department_phone is None  # another department's phone is not kept


def test_resealing_touches_only_values_under_an_old_key() -> None:
    stale = lambda v: v.startswith("k1:")  # noqa: E731
    again = lambda v: "k2:" + v.removeprefix("k1:")  # noqa: E731
    doc = {"_id": "r", "sealed": "k1:abc", "answer": {"state": "draft", "sealed": "k1:def"}, "status": "received"}
    assert domain.needs_reseal(doc, stale=stale)
    new = domain.resealed(doc, stale=stale, again=again)
    assert new == {
        "_id": "r",
        "sealed": "k2:abc",
        "answer": {"state": "draft", "sealed": "k2:def"},
        "status": "received",
    }
    assert not domain.needs_reseal(new, stale=stale) and domain.resealed(new, stale=stale, again=again) is None
    assert domain.resealed({"_id": "x", "sealed": "k2:z", "answer": None}, stale=stale, again=again) is None

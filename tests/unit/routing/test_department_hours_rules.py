"""A department's working hours (부서 근무시간): validated, stored in one form, published
with the department on routed and assigned events."""

from __future__ import annotations

from dataclasses import replace

import pytest

from minwon.errors import Invalid
from services.routing import domain
from services.routing.domain import Department, Pick
from tests.unit.routing.factories import NOW, SOURCE, department_of, facts, rule

ALWAYS = {
    "always_open": True,
    "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
    "periods": ["00:00-24:00"],
    "open_on_holidays": True,
}


def test_round_the_clock_is_stored_in_its_full_form() -> None:
    assert domain.department_hours({"always_open": True}) == ALWAYS
    assert domain.department_hours(None) is None
    assert domain.department_hours({"periods": ["09:00-12:00", "13:00-18:00"]}) is None  # the statutory hours
    evening = domain.department_hours({"days": ["mon", "sat"], "periods": ["18:00-24:00"]})
    assert evening == {
        "always_open": False,
        "days": ["mon", "sat"],
        "periods": ["18:00-24:00"],
        "open_on_holidays": False,
    }


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"days": ["mon", "noday"]}, "hours.days.1"),
        ({"periods": ["13:00-12:00"]}, "hours.periods.0"),
        ({"periods": ["08:00-12:00", "10:00-14:00"]}, "hours.periods.1"),
        ({"periods": ["25:00-26:00"]}, "hours.periods.0"),
        ({"hours": 24}, "hours.hours"),
    ],
)
def test_hours_that_do_not_read_are_refused_naming_the_field(spec: dict[str, object], field: str) -> None:
    with pytest.raises(Invalid) as refused:
        domain.department_hours(spec)
    assert refused.value.field == field and refused.value.status == 422
    dept = replace(department_of("one-stop"), hours=spec)
    with pytest.raises(Invalid) as again:
        domain.check_department(dept, others=[])
    assert again.value.field == field


def test_the_hours_survive_the_stored_document_and_are_audited() -> None:
    dept = replace(department_of("one-stop"), hours=ALWAYS)
    assert Department.from_doc(dept.to_doc()) == dept
    before = domain.revise_department_doc(None, replace(dept, hours=None), action="created", actor="a", now=NOW)
    after = domain.revise_department_doc(before, dept, action="updated", actor="a", now=NOW)
    assert after is not None and after["hours"] == ALWAYS
    assert after["audit"][-1]["changes"]["hours"] == {"from": None, "to": ALWAYS}


def test_routed_and_assigned_events_carry_the_department_hours() -> None:
    dept = replace(department_of("one-stop"), hours=ALWAYS)
    found = domain.Match(rule("desk", 60, "one-stop", keywords=["x"]), ())
    a, (routed,) = domain.route(
        facts(),
        found,
        dept,
        receipt_no="R1",
        priority=False,
        received_at=NOW.isoformat(),
        cause="ev-R1",
        now=NOW,
        source=SOURCE,
    )
    assert routed.data["department_hours"] == ALWAYS
    _, (assigned,) = domain.assign(a, dept, Pick(dept.handlers[0], None), now=NOW, source=SOURCE)
    assert assigned.data["department_hours"] == ALWAYS
    plain = department_of("roads")
    _, (other,) = domain.route(
        facts(),
        domain.Match(rule("r", 60, "roads", keywords=["x"]), ()),
        plain,
        receipt_no="R2",
        priority=False,
        received_at=NOW.isoformat(),
        cause="ev-R2",
        now=NOW,
        source=SOURCE,
    )
    assert "department_hours" in other.data and other.data["department_hours"] is None

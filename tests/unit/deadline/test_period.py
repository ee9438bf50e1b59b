"""Periods, kinds and the statutory-type table."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from services.deadline import domain as d
from services.deadline.domain import Basis, Kind, Period, Unit


@pytest.mark.parametrize(
    ("text", "amount", "unit", "basis"),
    [
        ("3h", 3, Unit.HOURS, Basis.HOURS),
        ("40h", 40, Unit.HOURS, Basis.HOURS),
        ("5d", 5, Unit.DAYS, Basis.HOURS),
        ("6d", 6, Unit.DAYS, Basis.DAYS),
        ("14d", 14, Unit.DAYS, Basis.DAYS),
        ("2w", 2, Unit.WEEKS, Basis.CALENDAR),
        ("1m", 1, Unit.MONTHS, Basis.CALENDAR),
        ("1y", 1, Unit.YEARS, Basis.CALENDAR),
        (" 14D ", 14, Unit.DAYS, Basis.DAYS),
    ],
)
def test_parse_period(text: str, amount: int, unit: Unit, basis: Basis) -> None:
    period = Period.parse(text)
    assert (period.amount, period.unit, period.basis) == (amount, unit, basis)
    assert Period.parse(str(period)) == period


@pytest.mark.parametrize("text", ["immediate", "즉시", "IMMEDIATE"])
def test_immediate_is_three_working_hours(text: str) -> None:
    period = Period.parse(text)
    assert period.immediate
    assert period.basis is Basis.HOURS
    assert period.working_hours == timedelta(hours=3)
    assert str(period) == "immediate"


@pytest.mark.parametrize(("text", "hours"), [("1d", 8), ("5d", 40), ("40h", 40)])
def test_short_periods_count_eight_working_hours_a_day(text: str, hours: int) -> None:
    assert Period.parse(text).working_hours == timedelta(hours=hours)


def test_day_counted_periods_have_no_working_hours() -> None:
    with pytest.raises(ValueError):
        _ = Period.parse("14d").working_hours


@pytest.mark.parametrize(
    "value", ["", "0d", "-1d", "1.5h", "14", "d", "3x", "immediately", "14 d", "501d", "3y", None, 14]
)
def test_bad_periods_are_refused_naming_the_field(value: object) -> None:
    with pytest.raises(d.InvalidPeriod) as caught:
        Period.parse(value)  # type: ignore[arg-type]
    assert caught.value.field == "period"
    assert isinstance(caught.value, ValueError)
    assert caught.value.status == 422


def test_a_bad_period_names_the_field_it_came_from() -> None:
    with pytest.raises(d.InvalidPeriod) as caught:
        Period.parse("soon", field="by")
    assert caught.value.field == "by"


@pytest.mark.parametrize(
    ("kind", "period"),
    [
        ("inquiry_law", "14d"),
        ("inquiry_system", "7d"),
        ("suggestion", "14d"),
        ("other", "immediate"),
        ("grievance", "7d"),
        ("petition", "7d"),
        ("service_complaint", "7d"),
    ],
)
def test_each_kind_has_its_legal_period(kind: str, period: str) -> None:
    assert str(d.legal_period(kind)) == period


def test_an_explicit_period_overrides_the_kind() -> None:
    assert d.legal_period(Kind.GRIEVANCE, period="10d") == Period(10, Unit.DAYS)


def test_a_statutory_complaint_needs_a_type() -> None:
    with pytest.raises(d.UnknownStatutoryType) as caught:
        d.legal_period("statutory")
    assert caught.value.field == "statutory_type"


def test_only_statutory_complaints_have_a_type() -> None:
    permit = d.StatutoryType("building_permit", "건축허가", "Building permit", Period(10, Unit.DAYS), "building")
    assert d.legal_period("statutory", statutory_type=permit) == Period(10, Unit.DAYS)
    with pytest.raises(d.UnknownStatutoryType):
        d.legal_period("petition", statutory_type=permit)


def test_an_unknown_kind_names_the_field() -> None:
    with pytest.raises(d.UnknownKind) as caught:
        d.legal_period("complaint")
    assert caught.value.field == "kind"


# ---------------------------------------------------------------- the table


@pytest.fixture(scope="module")
def types() -> dict[str, d.StatutoryType]:
    # Reading the shipped file is the test's job; domain.py only parses text.
    return dict(d.load_statutory_types(d.STATUTORY_TYPES_PATH.read_text(encoding="utf-8")))


def test_the_table_has_at_least_twenty_common_types(types: dict[str, d.StatutoryType]) -> None:
    assert len(types) >= 20
    for code, kind in types.items():
        assert kind.code == code
        assert kind.name_ko.strip() and kind.name_en.strip() and kind.department_hint.strip()


def test_certificates_are_immediate_and_permits_take_days(types: dict[str, d.StatutoryType]) -> None:
    assert types["resident_registration_copy"].period.immediate
    assert types["seal_certificate"].period.immediate
    assert types["building_permit"].period.basis is Basis.DAYS
    periods = {str(t.period) for t in types.values()}
    assert {"immediate", "3d", "20d"} <= periods


def test_find_statutory_type(types: dict[str, d.StatutoryType]) -> None:
    assert d.find_statutory_type(types, "building_permit").name_ko == "건축허가"
    with pytest.raises(d.UnknownStatutoryType) as caught:
        d.find_statutory_type(types, "moon_landing_permit")
    assert caught.value.field == "statutory_type"


def _table(*rows: dict[str, object]) -> str:
    return json.dumps({"types": list(rows)})


ROW = {"code": "x", "name_ko": "엑스", "name_en": "X", "period": "7d", "department_hint": "civil_affairs"}


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("not json", "types"),
        ("[]", "types"),
        (_table({**ROW, "period": "soon"}), "types[0].period"),
        (_table({**ROW, "name_en": ""}), "types[0].name_en"),
        (_table(ROW, ROW), "types[1].code"),
        (_table("x"), "types[0]"),
    ],
)
def test_a_bad_table_names_the_offending_entry(text: str, field: str) -> None:
    with pytest.raises(d.InvalidStatutoryTypes) as caught:
        d.load_statutory_types(text)
    assert caught.value.field == field

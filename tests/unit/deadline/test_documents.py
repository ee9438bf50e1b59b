"""The clock's stored inputs round-trip, and the what-if preview names the input it refuses."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from minwon.workcal import WorkCalendar
from services.deadline import domain as d

from ._helpers import CAL, KST, a_clock, kst


def _round_trip(clock: d.Clock, calendar: WorkCalendar = CAL) -> d.Clock:
    return d.clock_from_doc(json.loads(json.dumps(d.clock_to_doc(clock))), calendar)


def test_a_running_clock_round_trips_through_json() -> None:
    clock = d.mark_assigned(a_clock(forwarding_clock=True), kst(2026, 3, 10, 11))
    doc = d.clock_to_doc(clock)
    assert doc["received_at"] == "2026-03-10T01:00:00.000000+00:00"  # UTC, sortable as text
    assert doc["period"] == "7d" and doc["kind"] == "inquiry_system"
    assert _round_trip(clock) == clock


def test_a_paused_extended_emitted_and_closed_clock_round_trips() -> None:
    clock = a_clock(kind="grievance")
    clock = d.pause(clock, kst(2026, 3, 11, 10))
    paused = _round_trip(clock)
    assert paused == clock and paused.due_at is None and paused.paused
    clock = d.resume(clock, kst(2026, 3, 13, 15), CAL)
    clock = d.extend(clock, "5d", "현장 조사", False, kst(2026, 3, 16, 10), CAL)
    clock = d.mark_emitted(clock, [d.SLA_ASSIGNMENT], kst(2026, 3, 11, 10))
    clock = d.close(d.mark_first_response(clock, kst(2026, 3, 12, 9)), kst(2026, 3, 20, 17))
    restored = _round_trip(clock)
    assert restored == clock
    assert restored.extensions[0].by == d.Period(5, d.Unit.DAYS) and restored.closed


def test_the_stored_period_wins_over_the_statutory_table_and_a_holiday_moves_the_due_time() -> None:
    types = d.load_statutory_types(d.STATUTORY_TYPES_PATH.read_text(encoding="utf-8"))
    permit = d.find_statutory_type(types, "building_permit")
    clock = a_clock(kind="statutory", statutory_type=permit)
    doc = d.clock_to_doc(clock)
    assert doc["statutory_type"] == "building_permit" and doc["period"] == str(permit.period)
    later = CAL.with_holidays([clock.due_at.date()])  # 임시공휴일 on the due day
    moved = d.clock_from_doc(doc, later)
    assert moved.due_at == CAL.end_of_day(later.next_working_day(clock.due_at.date()))


@given(
    st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(KST)),
    st.sampled_from(["inquiry_law", "inquiry_system", "other", "grievance", "petition", "service_complaint"]),
    st.timedeltas(min_value=timedelta(hours=1), max_value=timedelta(days=20)),
)
def test_any_clock_paused_and_resumed_round_trips(received: datetime, kind: str, wait: timedelta) -> None:
    clock = d.open_clock(received, kind, CAL)
    clock = d.resume(d.pause(clock, received + timedelta(minutes=30)), received + timedelta(minutes=30) + wait, CAL)
    assert _round_trip(clock) == clock


def test_a_corrupt_document_names_its_field() -> None:
    doc = d.clock_to_doc(a_clock())
    with pytest.raises(d.InvalidInstant) as error:
        d.clock_from_doc({**doc, "received_at": "yesterday"}, CAL)
    assert error.value.field == "received_at"
    with pytest.raises(d.InvalidPeriod) as bad:
        d.clock_from_doc({**doc, "extensions": [{"at": doc["received_at"], "by": "3x", "reason": "r"}]}, CAL)
    assert bad.value.field == "extensions[0].by"


# ---------------------------------------------------------------- what if


def test_what_if_counts_pauses_and_a_first_extension() -> None:
    view = d.what_if(
        kst(2026, 3, 10, 10),
        CAL,
        kind="grievance",
        pauses=[(kst(2026, 3, 11, 10), kst(2026, 3, 13, 10))],
        extend_by="3d",
    )
    # days up to the pause day stay used; the resume day counts next; the extension runs from the next morning
    assert view["due_at"] == "2026-03-24T18:00:00+09:00"
    assert view["pauses"] == [{"start": "2026-03-11T10:00:00+09:00", "end": "2026-03-13T10:00:00+09:00"}]
    assert view["extensions"] == [{"by": "3d"}] and view["basis"] == "days"


def test_what_if_with_a_period_only_has_no_kind_and_no_daily_life_commitment() -> None:
    view = d.what_if(kst(2026, 3, 10, 10), CAL, period="3h")
    assert view["kind"] is None and view["due_at"] == "2026-03-10T14:00:00+09:00"
    assert "first_response" not in view["sla"]


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"kind": "gossip"}, "kind"),
        ({}, "kind"),
        ({"period": "14x"}, "period"),
        ({"kind": "statutory"}, "statutory_type"),
        ({"kind": "grievance", "pauses": [(kst(2026, 3, 11, 10), kst(2026, 3, 11, 9))]}, "pauses[0].end"),
        ({"kind": "grievance", "pauses": [(kst(2026, 3, 9, 10), kst(2026, 3, 11, 9))]}, "pauses[0].start"),
        (
            {
                "kind": "grievance",
                "pauses": [(kst(2026, 3, 11, 10), kst(2026, 3, 12, 9)), (kst(2026, 3, 11, 12), kst(2026, 3, 13, 9))],
            },
            "pauses[1].start",
        ),
        ({"kind": "grievance", "extend_by": "30d"}, "extend"),
        ({"kind": "grievance", "extend_by": "soon"}, "extend"),
    ],
)
def test_what_if_refusals_name_the_input(arguments: dict, field: str) -> None:
    with pytest.raises(d.DeadlineError) as error:
        d.what_if(kst(2026, 3, 10, 10), CAL, **arguments)
    assert error.value.field == field


def test_what_if_refuses_a_naive_receipt() -> None:
    with pytest.raises(d.InvalidInstant) as error:
        d.what_if(datetime(2026, 3, 10, 10), CAL, kind="grievance")
    assert error.value.field == "received_at"


def test_rearmed_signals_are_the_warning_and_its_escalations() -> None:
    assert d.rearmed_signals(d.DEFAULT_POLICY) == {d.WARNING, d.escalation(1)}

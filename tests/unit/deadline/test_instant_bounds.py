"""Instants outside the years the working calendar counts are refused with the field named, never an
OverflowError: not at the API (preview), not in the consumer (a complaint received in year 1)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from services.deadline import domain as d
from services.deadline import tracking as t

from ._helpers import CAL, a_clock, kst

TYPES = d.load_statutory_types(d.STATUTORY_TYPES_PATH.read_text(encoding="utf-8"))
# each overflows datetime when moved to Seoul time or counted forward
FAR_PAST = datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=9)))
FAR_FUTURE = datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-10)))


@pytest.mark.parametrize(
    "received_at",
    [FAR_PAST, FAR_FUTURE, datetime(9999, 12, 31, tzinfo=UTC), kst(1999, 12, 31, 23, 59), kst(2100, 1, 1, 0)],
)
def test_a_receipt_outside_the_calendar_years_is_refused_naming_received_at(received_at: datetime) -> None:
    with pytest.raises(d.InvalidInstant) as opened:
        d.open_clock(received_at, "grievance", CAL)
    assert opened.value.field == "received_at" and opened.value.status == 422
    with pytest.raises(d.InvalidInstant) as due:
        d.compute_due(received_at, "14d", CAL)
    assert due.value.field == "received_at"


def test_the_first_instant_of_the_calendar_is_accepted() -> None:
    clock = d.open_clock(d.EARLIEST, "grievance", CAL)
    assert clock.due_at is not None and clock.due_at.year == 2000


def test_a_count_that_runs_past_the_last_year_is_refused_naming_what_started_it() -> None:
    with pytest.raises(d.InvalidInstant) as opened:
        d.open_clock(kst(2099, 12, 30, 10), "grievance", CAL, period="1y")
    assert opened.value.field == "received_at" and "2100" in str(opened.value)
    late = a_clock(kst(2099, 6, 1, 10), period="6m")
    with pytest.raises(d.InvalidInstant) as extended:
        d.extend(late, None, "현장 조사", False, kst(2099, 6, 2, 10), CAL)
    assert extended.value.field == "by"


@pytest.mark.parametrize("at", [FAR_PAST, FAR_FUTURE])
def test_commands_at_an_impossible_instant_are_refused_naming_at(at: datetime) -> None:
    clock = a_clock()
    for command in (
        lambda: d.pause(clock, at),
        lambda: d.close(clock, at),
        lambda: d.mark_assigned(clock, at),
        lambda: d.resume(d.pause(clock, kst(2026, 3, 11, 10)), at, CAL),
        lambda: d.extend(clock, None, "현장 조사", False, at, CAL),
    ):
        with pytest.raises(d.InvalidInstant) as refused:
            command()
        assert refused.value.field == "at"


def test_a_preview_names_the_pause_that_cannot_be() -> None:
    with pytest.raises(d.InvalidInstant) as refused:
        d.what_if(kst(2026, 3, 10, 10), CAL, kind="grievance", pauses=[(kst(2026, 3, 11, 10), FAR_FUTURE)])
    assert refused.value.field == "pauses[0].end"
    with pytest.raises(d.InvalidInstant) as at_the_end:
        d.what_if(kst(2099, 12, 1, 10), CAL, kind="grievance", pauses=[(kst(2099, 12, 2, 10), kst(2099, 12, 28, 10))])
    assert at_the_end.value.field == "pauses[0].end"


def test_the_consumer_records_a_receipt_in_year_one_as_refused_instead_of_failing() -> None:
    data = {"receipt_no": "R1", "kind": "grievance", "received_at": "0001-01-01T00:00:00+09:00", "channel": "mail"}
    rec, events = t.on_received(
        None,
        data,
        receipt_no="R1",
        at=kst(2026, 3, 10, 10),
        calendar=CAL,
        types=TYPES,
        now=kst(2026, 3, 10, 10),
        source="/test/deadline",
    )
    assert events == [] and rec is not None and rec.status == t.REFUSED
    assert rec.refused[0]["field"] == "received_at"

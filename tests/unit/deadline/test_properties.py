"""Properties that hold for any receipt, period and pause (hypothesis)."""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from services.deadline import domain as d
from services.deadline.domain import Basis, Pause

from ._helpers import CAL, KST

PERIODS = ["immediate", "1h", "3h", "40h", "1d", "3d", "5d", "6d", "7d", "14d", "20d", "1w", "2w", "1m", "2m", "1y"]

instants = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(KST))
periods = st.sampled_from(PERIODS)
gaps = st.timedeltas(min_value=timedelta(minutes=1), max_value=timedelta(days=40))
working_times = st.timedeltas(min_value=timedelta(), max_value=timedelta(hours=400))

settings.register_profile("deadline", deadline=None, max_examples=150)
settings.load_profile("deadline")


@given(instants, gaps, periods)
def test_a_later_receipt_never_gets_an_earlier_due_time(received: datetime, later_by: timedelta, period: str) -> None:
    early = d.compute_due(received, period, CAL)
    late = d.compute_due(received + later_by, period, CAL)
    assert early is not None and late is not None
    assert early <= late


@given(instants, periods, gaps, gaps)
def test_a_pause_never_shortens_a_deadline(
    received: datetime, period: str, after: timedelta, length: timedelta
) -> None:
    plain = d.compute_due(received, period, CAL)
    paused = d.compute_due(received, period, CAL, pauses=[Pause(received + after, received + after + length)])
    assert plain is not None and paused is not None
    assert paused >= plain


@given(instants, periods)
def test_the_due_time_is_working_time_or_18_00(received: datetime, period: str) -> None:
    due = d.compute_due(received, period, CAL)
    assert due is not None and due > received
    if d.Period.parse(period).basis is Basis.HOURS:
        # inside a working period, its end included (never normalised past it)
        assert any(start < due <= end for start, end in CAL.working_periods(due.date()))
    else:
        assert CAL.is_working_day(due.date())
        assert due == CAL.end_of_day(due.date())


@given(instants, working_times)
def test_add_working_hours_then_working_time_between_round_trips(start: datetime, amount: timedelta) -> None:
    end = CAL.add_working_hours(start, amount)
    assert end >= start
    assert CAL.working_time_between(start, end) == amount


@given(instants, working_times)
def test_subtract_working_hours_then_working_time_between_round_trips(end: datetime, amount: timedelta) -> None:
    start = CAL.subtract_working_hours(end, amount)
    assert start <= end
    assert CAL.working_time_between(start, end) == amount


@given(instants)
def test_normalise_gives_working_time_never_earlier_and_is_idempotent(instant: datetime) -> None:
    normal = CAL.normalise(instant)
    assert normal >= instant
    assert CAL.is_working_time(normal)
    assert CAL.normalise(normal) == normal
    assert CAL.working_time_between(instant, normal) == timedelta()


@given(instants, periods)
def test_the_schedule_is_ordered_and_the_warning_precedes_the_breach(received: datetime, period: str) -> None:
    clock = d.open_clock(received, "grievance", CAL, period=period, forwarding_clock=True, daily_life=True)
    times = [s.at for s in clock.schedule]
    assert times == sorted(times)
    assert clock.warning_at is not None and clock.due_at is not None
    assert received <= clock.warning_at <= CAL.normalise(clock.due_at)
    assert CAL.is_working_time(clock.warning_at)
    escalation_times = [s.at for s in clock.schedule if s.name.startswith("escalation.")]
    assert escalation_times == sorted(escalation_times)
    assert all(CAL.is_working_time(t) for t in escalation_times)


@given(instants, periods, gaps)
def test_an_extension_never_shortens_a_deadline(received: datetime, period: str, after: timedelta) -> None:
    clock = d.open_clock(received, "grievance", CAL, period=period)
    assert clock.due_at is not None
    at = min(received + after, clock.due_at)
    extended = d.extend(clock, None, "reason", False, at, CAL)
    assert extended.due_at is not None and extended.due_at > clock.due_at

"""The clock's signals: warning, escalation ladder, breach, SLAs, progress notice; targets and preview."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from services.deadline import domain as d
from services.deadline.domain import EscalationStep, SignalPolicy

from ._helpers import CAL, a_clock, kst

HOURS = timedelta(hours=1)


def test_the_default_schedule_of_a_seven_day_inquiry() -> None:
    clock = a_clock()  # received Tue 03-10 10:00, due Wed 03-18 18:00
    assert [(s.name, s.at, s.recipients) for s in clock.schedule] == [
        (d.SLA_ASSIGNMENT, kst(2026, 3, 11, 10), ()),
        (d.WARNING, kst(2026, 3, 17, 9), ("handler",)),
        ("escalation.1", kst(2026, 3, 17, 9), ("handler",)),
        (d.BREACHED, kst(2026, 3, 18, 18), ()),
        ("escalation.2", kst(2026, 3, 19, 9), ("team_lead",)),
        ("escalation.3", kst(2026, 3, 20, 9), ("section_chief", "complaint_office")),
        (d.PROGRESS_NOTICE, kst(2026, 4, 9, 10), ()),
    ]
    assert clock.breach_at == clock.due_at == kst(2026, 3, 18, 18)


def test_a_warning_landing_at_18_00_is_delivered_at_09_00_the_next_working_day() -> None:
    due = kst(2026, 3, 18, 18)
    assert CAL.subtract_working_hours(due, 16 * HOURS) == kst(2026, 3, 16, 18)  # 2 working days left from here
    assert d.warning_at(kst(2026, 3, 10, 10), due, CAL) == kst(2026, 3, 17, 9)
    friday_due = kst(2026, 3, 17, 18)
    assert CAL.subtract_working_hours(friday_due, 16 * HOURS) == kst(2026, 3, 13, 18)  # a Friday evening
    assert d.warning_at(kst(2026, 3, 9, 10), friday_due, CAL) == kst(2026, 3, 16, 9)  # Monday


def test_a_warning_landing_at_noon_is_delivered_at_13_00() -> None:
    policy = SignalPolicy(warning_window=4 * HOURS)
    clock = a_clock(kst(2026, 3, 9, 9), period="7h", policy=policy)  # due Mon 17:00
    assert clock.due_at == kst(2026, 3, 9, 17)
    assert clock.warning_at == kst(2026, 3, 9, 13)


@pytest.mark.parametrize(
    ("received", "warning"),
    [
        (kst(2026, 3, 10, 10), kst(2026, 3, 10, 10)),  # already inside the window: at receipt
        (kst(2026, 3, 10, 20), kst(2026, 3, 11, 9)),  # at receipt, normalised
        (kst(2026, 3, 14, 10), kst(2026, 3, 16, 9)),  # a Saturday receipt: Monday 09:00
    ],
)
def test_a_receipt_inside_the_window_is_warned_at_receipt(received: datetime, warning: datetime) -> None:
    assert a_clock(received, kind="other").warning_at == warning


def test_escalations_of_an_hour_counted_period_fall_mid_day() -> None:
    clock = a_clock(period="1d")  # due Wed 03-11 10:00
    assert clock.due_at == kst(2026, 3, 11, 10)
    assert clock.signal_at("escalation.2") == kst(2026, 3, 11, 10)
    assert clock.signal_at("escalation.3") == kst(2026, 3, 12, 10)
    names_at_due = [s.name for s in clock.schedule if s.at == clock.due_at]
    assert names_at_due == [d.SLA_ASSIGNMENT, d.BREACHED, "escalation.2"]  # 1 day = the 8-hour assignment SLA


def test_the_ladder_and_the_window_are_configurable() -> None:
    policy = SignalPolicy(
        warning_window=8 * HOURS,
        ladder=(EscalationStep(1, "due", 4 * HOURS, ("director",)),),
    )
    clock = a_clock(policy=policy)
    assert clock.warning_at == kst(2026, 3, 18, 9)
    escalations = [s for s in clock.schedule if s.name.startswith("escalation.")]
    assert [(s.name, s.at, s.recipients) for s in escalations] == [
        ("escalation.1", kst(2026, 3, 19, 14), ("director",)),
    ]


@pytest.mark.parametrize(
    "policy",
    [
        lambda: SignalPolicy(ladder=(EscalationStep(1, "due"), EscalationStep(1, "warning"))),
        lambda: SignalPolicy(ladder=(EscalationStep(0, "due"),)),
        lambda: SignalPolicy(ladder=(EscalationStep(1, "due", -HOURS),)),
        lambda: SignalPolicy(warning_window=-HOURS),
    ],
)
def test_a_bad_policy_is_refused(policy) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(d.DeadlineError):
        policy()


def test_sla_instants_for_a_mail_receipt_on_a_friday_afternoon() -> None:
    clock = a_clock(kst(2026, 3, 13, 17, 30), kind="other", forwarding_clock=True)
    assert clock.signal_at(d.SLA_FORWARDING) == kst(2026, 3, 16, 9, 30)  # 1 working hour
    assert clock.signal_at(d.SLA_ASSIGNMENT) == kst(2026, 3, 16, 17, 30)  # 8 working hours
    assert clock.signal_at(d.SLA_FIRST_RESPONSE) == kst(2026, 3, 14, 17, 30)  # 24 wall-clock hours
    assert clock.signal_at(d.PROGRESS_NOTICE) == kst(2026, 4, 13, 9)  # 04-12 is a Sunday


def test_first_response_and_forwarding_only_when_they_apply() -> None:
    inquiry = a_clock()
    assert inquiry.signal_at(d.SLA_FIRST_RESPONSE) is None
    assert inquiry.signal_at(d.SLA_FORWARDING) is None
    daily = a_clock(daily_life=True)
    assert daily.signal_at(d.SLA_FIRST_RESPONSE) == kst(2026, 3, 11, 10)
    assert a_clock(kind="other", daily_life=False).signal_at(d.SLA_FIRST_RESPONSE) is None


def test_the_30_day_progress_notice_is_normalised() -> None:
    assert a_clock(kst(2026, 3, 10, 10)).signal_at(d.PROGRESS_NOTICE) == kst(2026, 4, 9, 10)
    assert a_clock(kst(2026, 3, 12, 19)).signal_at(d.PROGRESS_NOTICE) == kst(2026, 4, 13, 9)  # 04-11 Saturday
    assert a_clock(kst(2026, 3, 17, 10)).signal_at(d.PROGRESS_NOTICE) == kst(2026, 4, 16, 10)


# ---------------------------------------------------------------- firing


def test_due_signals_come_in_time_order_and_only_once() -> None:
    clock = a_clock()
    assert d.due_signals(clock, kst(2026, 3, 10, 12)) == []
    assert [s.name for s in d.due_signals(clock, kst(2026, 3, 11, 10))] == [d.SLA_ASSIGNMENT]
    fired = d.due_signals(clock, kst(2026, 3, 17, 9))
    assert [s.name for s in fired] == [d.SLA_ASSIGNMENT, d.WARNING, "escalation.1"]
    clock = d.mark_emitted(clock, [s.name for s in fired], kst(2026, 3, 17, 9, 1))
    assert d.due_signals(clock, kst(2026, 3, 17, 9)) == []
    assert d.next_fire_at(clock) == kst(2026, 3, 18, 18)
    assert [s.name for s in d.due_signals(clock, kst(2026, 3, 19, 9))] == [d.BREACHED, "escalation.2"]


def test_next_fire_at_is_the_earliest_pending_signal_and_none_when_all_fired() -> None:
    clock = a_clock()
    assert d.next_fire_at(clock) == kst(2026, 3, 11, 10)
    everything = [s.name for s in clock.schedule]
    assert d.next_fire_at(d.mark_emitted(clock, everything, kst(2026, 5, 1))) is None


def test_mark_emitted_keeps_the_first_record_and_refuses_unknown_names() -> None:
    clock = d.mark_emitted(a_clock(), [d.WARNING], kst(2026, 3, 17, 9))
    again = d.mark_emitted(clock, [d.WARNING], kst(2026, 3, 17, 10))
    assert again.emitted == (d.Emitted(d.WARNING, kst(2026, 3, 17, 9)),)
    with pytest.raises(d.UnknownSignal) as caught:
        d.mark_emitted(clock, ["escalation.9"], kst(2026, 3, 17, 9))
    assert caught.value.field == "signal"


def test_assignment_cancels_the_assignment_and_forwarding_slas() -> None:
    clock = a_clock(forwarding_clock=True)
    assigned = d.mark_assigned(clock, kst(2026, 3, 10, 10, 30))
    names = [s.name for s in d.due_signals(assigned, kst(2026, 3, 11, 10))]
    assert d.SLA_ASSIGNMENT not in names and d.SLA_FORWARDING not in names
    assert [s.name for s in d.due_signals(clock, kst(2026, 3, 11, 10))] == [d.SLA_FORWARDING, d.SLA_ASSIGNMENT]
    assert d.mark_assigned(assigned, kst(2026, 3, 12, 10)).assigned_at == kst(2026, 3, 10, 10, 30)


def test_a_first_response_cancels_the_first_response_sla() -> None:
    clock = a_clock(kind="other")
    responded = d.mark_first_response(clock, kst(2026, 3, 10, 11))
    assert d.SLA_FIRST_RESPONSE in [s.name for s in d.due_signals(clock, kst(2026, 3, 11, 10))]
    assert d.SLA_FIRST_RESPONSE not in [s.name for s in d.due_signals(responded, kst(2026, 3, 11, 10))]


def test_a_closed_clock_fires_nothing_and_refuses_changes() -> None:
    closed = d.close(a_clock(), kst(2026, 3, 12, 15))
    assert closed.closed
    assert d.due_signals(closed, kst(2027, 1, 1)) == []
    assert d.next_fire_at(closed) is None
    with pytest.raises(d.ClockClosed) as caught:
        d.close(closed, kst(2026, 3, 13, 10))
    assert caught.value.status == 409
    with pytest.raises(d.ClockClosed):
        d.pause(closed, kst(2026, 3, 13, 10))


def test_marks_before_receipt_are_refused() -> None:
    with pytest.raises(d.InvalidInstant):
        d.mark_assigned(a_clock(), kst(2026, 3, 9, 10))
    with pytest.raises(d.InvalidInstant):
        d.close(a_clock(), kst(2026, 3, 9, 10))


# ---------------------------------------------------------------- recompute, open


def test_an_admin_added_holiday_moves_the_clock_on_recompute() -> None:
    clock = a_clock()
    moved = d.recompute(clock, CAL.with_holidays([date(2026, 3, 16)]))
    assert moved.due_at == kst(2026, 3, 19, 18)
    assert moved.warning_at == kst(2026, 3, 18, 9)
    assert clock.due_at == kst(2026, 3, 18, 18)


def test_open_a_statutory_clock_from_its_type() -> None:
    permit = d.StatutoryType("building_permit", "건축허가", "Building permit", d.Period.parse("10d"), "building")
    clock = a_clock(kind="statutory", statutory_type=permit)
    assert (clock.statutory_type, clock.basis, clock.due_at) == ("building_permit", d.Basis.DAYS, kst(2026, 3, 23, 18))
    with pytest.raises(d.UnknownStatutoryType):
        a_clock(kind="statutory")


def test_open_refuses_a_naive_receipt() -> None:
    with pytest.raises(d.InvalidInstant) as caught:
        d.open_clock(datetime(2026, 3, 10, 10), "petition", CAL)
    assert caught.value.field == "received_at"


def test_a_clock_is_immutable() -> None:
    clock = a_clock()
    with pytest.raises(AttributeError):
        clock.due_at = None  # type: ignore[misc]


# ---------------------------------------------------------------- targets


def test_a_service_complaint_exposes_its_stage_targets() -> None:
    clock = a_clock(kind="service_complaint")
    assert dict(clock.stage_targets) == {
        "assign": kst(2026, 3, 11, 10),
        "investigate": kst(2026, 3, 13, 10),
        "notify": kst(2026, 3, 18, 18),
    }
    assert clock.due_at == dict(clock.stage_targets)["notify"]
    assert a_clock().stage_targets == ()


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        (d.ServiceTarget(ratio=0.5), kst(2026, 3, 13, 14, 30)),  # half of 55 working hours
        (d.ServiceTarget(ratio=1.0), kst(2026, 3, 18, 18)),
        (d.ServiceTarget(period=d.Period.parse("5d")), kst(2026, 3, 17, 10)),
    ],
)
def test_the_department_target_is_tracked_beside_the_legal_due_time(
    target: d.ServiceTarget, expected: datetime
) -> None:
    clock = a_clock(target=target)
    assert clock.target_at == expected
    assert clock.due_at == kst(2026, 3, 18, 18)


def test_a_pause_moves_the_target_too() -> None:
    clock = a_clock(target=d.ServiceTarget(ratio=0.5))
    resumed = d.resume(d.pause(clock, kst(2026, 3, 12, 11)), kst(2026, 3, 17, 10), CAL)
    assert resumed.target_at == kst(2026, 3, 18, 13, 30)  # 23 working hours later


@pytest.mark.parametrize(
    "make",
    [
        lambda: d.ServiceTarget(ratio=0),
        lambda: d.ServiceTarget(ratio=1.5),
        lambda: d.ServiceTarget(),
        lambda: d.ServiceTarget(ratio=0.5, period=d.Period.parse("3d")),
        lambda: a_clock(target=d.ServiceTarget(period=d.Period.parse("10d"))),
    ],
)
def test_a_target_must_be_shorter_than_the_legal_period(make) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(d.InvalidTarget) as caught:
        make()
    assert caught.value.field == "target"


# ---------------------------------------------------------------- preview


def test_preview_prints_iso_instants_with_offsets() -> None:
    view = d.preview(a_clock(forwarding_clock=True))
    assert view["due_at"] == "2026-03-18T18:00:00+09:00"
    assert view["breach_at"] == view["due_at"]
    assert view["warning_at"] == "2026-03-17T09:00:00+09:00"
    assert view["basis"] == "days"
    assert view["period"] == "7d"
    assert view["escalations"] == [
        "2026-03-17T09:00:00+09:00",
        "2026-03-19T09:00:00+09:00",
        "2026-03-20T09:00:00+09:00",
    ]
    assert [step["level"] for step in view["ladder"]] == [1, 2, 3]
    assert view["ladder"][2]["recipients"] == ["section_chief", "complaint_office"]
    assert view["sla"] == {"forwarding": "2026-03-10T11:00:00+09:00", "assignment": "2026-03-11T10:00:00+09:00"}
    assert view["progress_notice_at"] == "2026-04-09T10:00:00+09:00"
    assert view["paused"] is False and view["closed"] is False


@pytest.mark.parametrize(("kind", "basis"), [("other", "hours"), ("suggestion", "days")])
def test_preview_names_the_basis(kind: str, basis: str) -> None:
    assert d.preview(a_clock(kind=kind))["basis"] == basis
    assert d.preview(a_clock(period="1m"))["basis"] == "calendar"

"""A breach is a fact: once the legal period has run out, a later pause (late supplementation), resumption
or close moves the future clock but does not undo the breach, its signal or the overdue lists."""

from __future__ import annotations

from services.deadline import domain as d

from ._helpers import CAL, a_clock, kst

DUE = kst(2026, 3, 18, 18)  # the default 7-day clock received Tue 03-10 10:00


def test_a_supplementation_requested_after_the_deadline_keeps_the_breach() -> None:
    clock = a_clock()
    assert clock.due_at == DUE and clock.breached_at is None
    late = d.pause(clock, kst(2026, 3, 26, 10))  # six working days after the due date
    assert late.breached_at == DUE and late.due_at is None
    assert late.breached_by(kst(2026, 3, 26, 11))
    # the breach signal still goes out (once) although the clock is paused
    assert [s.name for s in d.due_signals(late, kst(2026, 3, 26, 11)) if s.name == d.BREACHED] == [d.BREACHED]
    resumed = d.resume(late, kst(2026, 3, 30, 10), CAL)
    assert resumed.due_at == DUE  # the period was used up before the pause: no time comes back
    assert resumed.breached_at == DUE and resumed.breached_by(kst(2026, 3, 30, 11))
    assert resumed.signal_at(d.BREACHED) == DUE
    again = d.clock_from_doc(d.clock_to_doc(resumed), CAL)
    assert again.breached_at == DUE and again.due_at == resumed.due_at


def test_a_supplementation_within_the_period_is_no_breach() -> None:
    paused = d.pause(a_clock(), kst(2026, 3, 12, 11))
    assert paused.breached_at is None and not paused.breached_by(kst(2026, 3, 20, 10))
    resumed = d.resume(paused, kst(2026, 3, 17, 10), CAL)
    assert resumed.breached_at is None and resumed.due_at == kst(2026, 3, 20, 18)
    assert not resumed.breached_by(kst(2026, 3, 20, 17)) and resumed.breached_by(kst(2026, 3, 20, 18))


def test_an_emitted_breach_is_recorded_and_not_emitted_again_after_a_late_pause() -> None:
    clock = d.mark_emitted(a_clock(), [d.BREACHED], kst(2026, 3, 18, 18, 1))
    assert clock.breached_at == DUE
    resumed = d.resume(d.pause(clock, kst(2026, 3, 24, 9)), kst(2026, 3, 25, 9), CAL)
    assert resumed.breached_at == DUE
    assert d.BREACHED not in {s.name for s in d.pending_signals(resumed)}


def test_closing_late_records_the_breach_and_closing_in_time_does_not() -> None:
    assert d.close(a_clock(), kst(2026, 3, 19, 10)).breached_at == DUE
    on_time = d.close(a_clock(), kst(2026, 3, 18, 17))
    assert on_time.breached_at is None and not on_time.breached_by(kst(2026, 3, 25, 10))


def test_a_late_assignment_leaves_the_sla_miss_to_be_recorded_and_an_in_time_one_meets_it() -> None:
    received = kst(2026, 3, 10, 10)  # a letter received Tuesday, registered and assigned on Thursday
    clock = a_clock(received, forwarding_clock=True)
    forwarding = clock.signal_at(d.SLA_FORWARDING)
    assert forwarding is not None and forwarding == kst(2026, 3, 10, 11)
    late = d.mark_assigned(clock, kst(2026, 3, 12, 15))
    due = {s.name for s in d.due_signals(late, kst(2026, 3, 12, 15, 1))}
    assert {d.SLA_FORWARDING, d.SLA_ASSIGNMENT} <= due
    in_time = d.mark_assigned(clock, kst(2026, 3, 10, 10, 30))
    assert not {d.SLA_FORWARDING, d.SLA_ASSIGNMENT} & {s.name for s in d.pending_signals(in_time)}


def test_a_live_service_complaint_clock_signals_each_charter_stage_not_reached_in_time() -> None:
    clock = a_clock(kind="service_complaint")
    stages = {s.name: s.at for s in clock.schedule if s.name in d.STAGES}
    assert list(stages) == ["stage.assign", "stage.investigate", "stage.notify"]
    assert stages["stage.assign"] < stages["stage.investigate"] < stages["stage.notify"]
    assigned = d.mark_assigned(clock, kst(2026, 3, 10, 11))  # in time: assign is met
    late = {s.name for s in d.due_signals(assigned, stages["stage.investigate"])}
    assert "stage.assign" not in late and "stage.investigate" in late
    responded = d.mark_first_response(assigned, kst(2026, 3, 11, 9))
    assert not {"stage.assign", "stage.investigate"} & {s.name for s in d.pending_signals(responded)}
    assert "stage.notify" in {s.name for s in d.pending_signals(responded)}
    assert d.pending_signals(d.close(responded, kst(2026, 3, 12, 9))) == ()
    assert not any(s.name in d.STAGES for s in a_clock().schedule)  # other kinds have no stages

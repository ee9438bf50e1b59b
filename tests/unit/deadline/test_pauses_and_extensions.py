"""Pauses (보완 and other excluded periods) and extensions (연장)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from services.deadline import domain as d
from services.deadline.domain import Pause

from ._helpers import CAL, a_clock, kst

# ---------------------------------------------------------------- pauses, as counted


@pytest.mark.parametrize(
    ("received", "period", "pauses", "due", "why"),
    [
        # hours basis: 5d received Mon 03-09 09:00 is due Fri 03-13 18:00; working hours inside come back
        (
            kst(2026, 3, 9, 9),
            "5d",
            [(kst(2026, 3, 10, 10), kst(2026, 3, 10, 15))],
            kst(2026, 3, 16, 14),
            "4 working hours (10-12, 13-15) added back",
        ),
        (
            kst(2026, 3, 9, 9),
            "5d",
            [(kst(2026, 3, 10, 19), kst(2026, 3, 11, 8))],
            kst(2026, 3, 13, 18),
            "a pause outside working time adds nothing",
        ),
        (
            kst(2026, 3, 9, 9),
            "5d",
            [(kst(2026, 3, 13, 17), kst(2026, 3, 16, 10))],
            kst(2026, 3, 16, 11),
            "over a weekend: Fri 17-18 and Mon 9-10",
        ),
        (
            kst(2026, 3, 9, 9),
            "5d",
            [(kst(2026, 3, 10, 10), kst(2026, 3, 10, 15)), (kst(2026, 3, 13, 17), kst(2026, 3, 16, 10))],
            kst(2026, 3, 16, 16),
            "two pauses add up",
        ),
        (
            kst(2026, 3, 9, 9),
            "5d",
            [(kst(2026, 3, 13, 18), kst(2026, 3, 17, 10))],
            kst(2026, 3, 13, 18),
            "a pause from the due instant on changes nothing",
        ),
        # days basis: 7d received Tue 03-10 is due Wed 03-18 18:00
        (
            kst(2026, 3, 10, 10),
            "7d",
            [(kst(2026, 3, 12, 11), kst(2026, 3, 17, 10))],
            kst(2026, 3, 20, 18),
            "3 days used (10-12); the resume day 17 is day 4",
        ),
        (
            kst(2026, 3, 10, 10),
            "7d",
            [(kst(2026, 3, 12, 11), kst(2026, 3, 12, 15))],
            kst(2026, 3, 18, 18),
            "resumed the same day: the next working day is the next day, nothing lost or won",
        ),
        (
            kst(2026, 3, 10, 10),
            "7d",
            [(kst(2026, 3, 12, 11), kst(2026, 3, 14, 10))],
            kst(2026, 3, 19, 18),
            "resumed on a Saturday: Friday lost, Monday is day 4",
        ),
        (
            kst(2026, 3, 10, 10),
            "7d",
            [(kst(2026, 3, 13, 20), kst(2026, 3, 16, 8))],
            kst(2026, 3, 18, 18),
            "over a weekend: no working day lost",
        ),
        (
            kst(2026, 3, 10, 10),
            "7d",
            [(kst(2026, 3, 18, 10), kst(2026, 3, 25, 10))],
            kst(2026, 3, 18, 18),
            "paused on the last day: that day stays used",
        ),
        (
            kst(2026, 3, 14, 10),
            "7d",
            [(kst(2026, 3, 14, 12), kst(2026, 3, 18, 9))],
            kst(2026, 3, 26, 18),
            "paused before day 1: counting starts on the resume day",
        ),
        (
            kst(2026, 2, 12, 10),
            "7d",
            [(kst(2026, 2, 13, 10), kst(2026, 2, 20, 10))],
            kst(2026, 2, 26, 18),
            "a pause across Seollal: 12, 13 used; 20 is day 3 (unpaused: 02-25)",
        ),
        # calendar basis: 1m received 03-10 ends 04-09
        (
            kst(2026, 3, 10, 10),
            "1m",
            [(kst(2026, 3, 20, 10), kst(2026, 3, 25, 10))],
            kst(2026, 4, 13, 18),
            "20 days left after 03-20 count from 03-25: 04-13",
        ),
        (
            kst(2026, 3, 10, 10),
            "1m",
            [(kst(2026, 3, 20, 10), kst(2026, 3, 20, 16))],
            kst(2026, 4, 9, 18),
            "resumed the same day: unchanged",
        ),
    ],
)
def test_pauses(
    received: datetime, period: str, pauses: list[tuple[datetime, datetime]], due: datetime, why: str
) -> None:
    assert d.compute_due(received, period, CAL, pauses=[Pause(s, e) for s, e in pauses]) == due, why


def test_an_open_pause_has_no_due_time() -> None:
    assert d.compute_due(kst(2026, 3, 10, 10), "7d", CAL, pauses=[Pause(kst(2026, 3, 12, 11))]) is None


# ---------------------------------------------------------------- pauses on a clock


def test_a_paused_clock_has_no_deadline_signals_but_keeps_its_slas() -> None:
    clock = a_clock()
    paused = d.pause(clock, kst(2026, 3, 12, 11))
    assert paused.paused and not clock.paused
    assert paused.due_at is None and paused.warning_at is None
    names = {s.name for s in paused.schedule}
    assert names == {d.SLA_ASSIGNMENT, d.PROGRESS_NOTICE}
    assert all(s.name not in (d.WARNING, d.BREACHED) for s in d.due_signals(paused, kst(2026, 12, 1)))
    assert d.preview(paused)["due_at"] is None and d.preview(paused)["paused"] is True


def test_resume_moves_the_due_time_and_the_warning() -> None:
    paused = d.pause(a_clock(), kst(2026, 3, 12, 11))
    resumed = d.resume(paused, kst(2026, 3, 17, 10), CAL)
    assert not resumed.paused
    assert resumed.pauses == (Pause(kst(2026, 3, 12, 11), kst(2026, 3, 17, 10)),)
    assert resumed.due_at == kst(2026, 3, 20, 18)
    assert resumed.warning_at == kst(2026, 3, 19, 9)


@pytest.mark.parametrize("resume_at", [kst(2026, 3, 12, 11), kst(2026, 3, 12, 10)])
def test_a_pause_must_end_after_it_starts(resume_at: datetime) -> None:
    paused = d.pause(a_clock(), kst(2026, 3, 12, 11))
    with pytest.raises(d.InvalidPause) as caught:
        d.resume(paused, resume_at, CAL)
    assert caught.value.field == "pause"
    assert caught.value.status == 422


def test_pause_and_resume_must_come_in_turn() -> None:
    clock = a_clock()
    with pytest.raises(d.ClockNotPaused) as not_paused:
        d.resume(clock, kst(2026, 3, 12, 11), CAL)
    paused = d.pause(clock, kst(2026, 3, 12, 11))
    with pytest.raises(d.ClockPaused) as already:
        d.pause(paused, kst(2026, 3, 12, 12))
    assert not_paused.value.status == already.value.status == 409


def test_a_pause_cannot_start_before_receipt_or_before_the_last_change() -> None:
    clock = a_clock()
    with pytest.raises(d.InvalidInstant) as before_receipt:
        d.pause(clock, kst(2026, 3, 10, 9))
    assert before_receipt.value.field == "at"
    resumed = d.resume(d.pause(clock, kst(2026, 3, 11, 10)), kst(2026, 3, 12, 10), CAL)
    with pytest.raises(d.InvalidInstant):
        d.pause(resumed, kst(2026, 3, 11, 15))


def test_a_naive_pause_instant_is_refused() -> None:
    with pytest.raises(d.InvalidInstant):
        d.pause(a_clock(), datetime(2026, 3, 12, 11))


# ---------------------------------------------------------------- extensions


def test_the_first_extension_needs_no_consent_and_counts_from_the_next_working_day() -> None:
    clock = a_clock()  # due Wed 03-18 18:00
    extended = d.extend(clock, "7d", "site inspection needed", False, kst(2026, 3, 16, 10), CAL)
    assert extended.due_at == kst(2026, 3, 27, 18)  # Thu 03-19 is day 1
    assert extended.extensions == (d.Extension(kst(2026, 3, 16, 10), d.Period.parse("7d"), "site inspection needed"),)
    assert clock.due_at == kst(2026, 3, 18, 18)


@pytest.mark.parametrize(
    ("by", "due"),
    [
        (None, kst(2026, 3, 27, 18)),  # the original period
        ("3d", kst(2026, 3, 23, 18)),  # 24 working hours from Thu 09:00
        ("1w", kst(2026, 3, 25, 18)),  # calendar: 03-19..03-25
        ("7d", kst(2026, 3, 27, 18)),
    ],
)
def test_an_extension_of_at_most_the_original_period(by: str | None, due: datetime) -> None:
    assert d.extend(a_clock(), by, "reason", False, kst(2026, 3, 16, 10), CAL).due_at == due


@pytest.mark.parametrize("by", ["8d", "2w", "1m"])
def test_the_first_extension_cannot_exceed_the_original_period(by: str) -> None:
    with pytest.raises(d.InvalidExtension) as caught:
        d.extend(a_clock(), by, "reason", False, kst(2026, 3, 16, 10), CAL)
    assert caught.value.field == "by"


def test_a_second_extension_needs_the_citizens_consent() -> None:
    once = d.extend(a_clock(), "7d", "reason", False, kst(2026, 3, 16, 10), CAL)
    with pytest.raises(d.ExtensionNeedsConsent) as caught:
        d.extend(once, "7d", "more time", False, kst(2026, 3, 20, 10), CAL)
    assert caught.value.field == "citizen_consent"
    assert caught.value.status == 409
    twice = d.extend(once, "7d", "more time", True, kst(2026, 3, 20, 10), CAL)
    assert twice.due_at == kst(2026, 4, 7, 18)  # from Mon 03-30
    longer = d.extend(once, "14d", "more time", True, kst(2026, 3, 20, 10), CAL)
    assert longer.due_at == kst(2026, 4, 16, 18)  # with consent, not bound to the original period


@pytest.mark.parametrize("reason", ["", "   "])
def test_an_extension_needs_a_reason(reason: str) -> None:
    with pytest.raises(d.InvalidExtension) as caught:
        d.extend(a_clock(), "7d", reason, False, kst(2026, 3, 16, 10), CAL)
    assert caught.value.field == "reason"


def test_an_extension_after_the_due_time_is_refused() -> None:
    with pytest.raises(d.ExtensionTooLate) as caught:
        d.extend(a_clock(), "7d", "reason", False, kst(2026, 3, 19, 9), CAL)
    assert caught.value.status == 409
    assert d.extend(a_clock(), "7d", "reason", False, kst(2026, 3, 18, 18), CAL).due_at == kst(2026, 3, 27, 18)


def test_an_extension_while_paused_or_closed_is_refused() -> None:
    with pytest.raises(d.ClockPaused):
        d.extend(d.pause(a_clock(), kst(2026, 3, 12, 11)), "7d", "reason", False, kst(2026, 3, 13, 10), CAL)
    with pytest.raises(d.ClockClosed):
        d.extend(d.close(a_clock(), kst(2026, 3, 12, 11)), "7d", "reason", False, kst(2026, 3, 13, 10), CAL)


def test_an_immediate_complaint_extends_in_working_hours() -> None:
    clock = a_clock(kind="other")  # 즉시: due Tue 14:00
    assert clock.due_at == kst(2026, 3, 10, 14)
    extended = d.extend(clock, None, "needs a site check", False, kst(2026, 3, 10, 11), CAL)
    assert extended.due_at == kst(2026, 3, 11, 12)  # Wed 09:00 + 3h


def test_a_pause_after_an_extension_moves_the_extended_due_time() -> None:
    extended = d.extend(a_clock(), "7d", "reason", False, kst(2026, 3, 12, 10), CAL)  # due Fri 03-27
    paused = d.pause(extended, kst(2026, 3, 16, 10))
    resumed = d.resume(paused, kst(2026, 3, 18, 10), CAL)  # Tue 03-17 not counted
    assert resumed.due_at == kst(2026, 3, 30, 18)


def test_an_extension_re_arms_the_warning() -> None:
    clock = d.mark_assigned(a_clock(), kst(2026, 3, 10, 11))
    warned = d.mark_emitted(clock, [d.WARNING, d.escalation(1)], kst(2026, 3, 17, 9))
    assert d.due_signals(warned, kst(2026, 3, 17, 9)) == []
    extended = d.extend(warned, "7d", "reason", False, kst(2026, 3, 17, 10), CAL)
    assert extended.warning_at == kst(2026, 3, 26, 9)
    names = [s.name for s in d.due_signals(extended, kst(2026, 3, 26, 9))]
    assert names == [d.WARNING, d.escalation(1)]
    assert timedelta() < extended.due_at - kst(2026, 3, 26, 9)  # type: ignore[operator]

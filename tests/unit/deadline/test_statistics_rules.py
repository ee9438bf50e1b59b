"""The processing statistics' rules: month of receipt in Korea time, working processing days, what a
complaint counts as, the counter changes, the nearest-rank percentile and the group figures."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from minwon.errors import Invalid
from services.deadline import domain as d
from services.deadline import statistics as s
from tests.unit.deadline._helpers import CAL, a_clock, kst


def _counted(
    clock: d.Clock,
    *,
    department: str | None = "road",
    closed_by: str | None = None,
    breached: bool = False,
    previous: dict | None = None,
) -> dict:
    out = s.counted(
        clock,
        department=department,
        category="도로",
        channel="online",
        closed_by=closed_by,
        breached=breached,
        calendar=CAL,
        previous=previous,
    )
    assert out is not None
    return out


def test_the_month_is_the_month_of_receipt_in_korea_time() -> None:
    assert s.month_of(datetime(2026, 3, 31, 14, 30, tzinfo=UTC), CAL) == "2026-03"  # 23:30 KST
    assert s.month_of(datetime(2026, 3, 31, 15, 0, tzinfo=UTC), CAL) == "2026-04"  # 00:00 KST on the 1st
    assert s.month_of(kst(2026, 12, 31, 23, 59), CAL) == "2026-12"


def test_processing_days_count_working_days_both_ends_included() -> None:
    assert s.processing_days(kst(2026, 3, 10, 10), kst(2026, 3, 10, 17), CAL) == 1  # the same day
    assert s.processing_days(kst(2026, 3, 10, 10), kst(2026, 3, 16, 9), CAL) == 5  # over a weekend
    # Fri 27 Feb -> Tue 3 Mar: the weekend and the substitute holiday of 삼일절 (Mon 2 Mar) are not counted
    assert s.processing_days(kst(2026, 2, 27, 17), kst(2026, 3, 3, 10), CAL) == 2
    assert s.processing_days(kst(2026, 3, 14, 10), kst(2026, 3, 15, 10), CAL) == 0  # a weekend only


def test_what_a_complaint_counts_as_open_on_time_late_overdue_withdrawn() -> None:
    clock = a_clock()  # due Wed 2026-03-18 18:00
    open_ = _counted(clock)
    assert open_["cell"] == {"month": "2026-03", "department": "road", "category": "도로", "channel": "online"}
    assert (open_["state"], open_["on_time"], open_["days"], open_["overdue"], open_["seq"]) == (
        "open",
        None,
        None,
        False,
        1,
    )
    overdue = _counted(clock, breached=True, previous=open_)
    assert overdue["overdue"] is True and overdue["seq"] == 2
    on_time = _counted(d.close(clock, kst(2026, 3, 18, 18)), closed_by="closed", previous=overdue)
    assert (on_time["state"], on_time["on_time"], on_time["days"], on_time["overdue"]) == ("closed", True, 7, False)
    late = _counted(d.close(clock, kst(2026, 3, 19, 9)), closed_by="closed", breached=True)
    assert (late["on_time"], late["days"], late["overdue"]) == (False, 8, False)
    withdrawn = _counted(d.close(clock, kst(2026, 3, 11)), closed_by="withdrawn")
    assert (withdrawn["state"], withdrawn["on_time"], withdrawn["days"]) == ("withdrawn", None, None)
    unrouted = _counted(clock, department=None)
    assert unrouted["cell"]["department"] == s.NONE
    assert (
        s.counted(
            None,
            department="road",
            category=None,
            channel=None,
            closed_by=None,
            breached=False,
            calendar=CAL,
            previous=None,
        )
        is None
    )


def test_the_sequence_moves_only_when_the_contribution_changes() -> None:
    first = _counted(a_clock())
    assert _counted(a_clock(), previous=first)["seq"] == first["seq"]
    assert _counted(a_clock(), department="water", previous=first)["seq"] == first["seq"] + 1


def test_deltas_move_a_complaint_between_cells_and_states() -> None:
    clock = a_clock()
    opened = _counted(clock)
    assert s.deltas(None, opened) == {"2026-03|road|도로|online": {"received": 1, "open": 1}}
    assert s.deltas(opened, opened) == {}
    moved = _counted(clock, department="water", previous=opened)
    assert s.deltas(opened, moved) == {
        "2026-03|road|도로|online": {"received": -1, "open": -1},
        "2026-03|water|도로|online": {"received": 1, "open": 1},
    }
    late = _counted(
        d.close(clock, kst(2026, 3, 20, 10)), department="water", closed_by="closed", breached=True, previous=moved
    )
    assert s.deltas(moved, late) == {
        "2026-03|water|도로|online": {"open": -1, "closed": 1, "late": 1, "days_sum": 9, "days.9": 1}
    }


def test_cells_add_up_and_drop_empty_day_buckets() -> None:
    cid = "2026-03|road|도로|online"
    cell = s.add(
        None, cid, {"received": 2, "closed": 2, "on_time": 2, "days_sum": 4, "days.1": 1, "days.3": 1}, "도로과"
    )
    assert cell["counts"]["received"] == 2 and cell["days"] == {"1": 1, "3": 1}
    cell = s.add(cell, cid, {"closed": -1, "on_time": -1, "days_sum": -3, "days.3": -1, "open": 1})
    assert cell["days"] == {"1": 1} and cell["counts"]["open"] == 1 and cell["counts"]["closed"] == 1
    assert (cell["month"], cell["department"], cell["category"], cell["channel"]) == (
        "2026-03",
        "road",
        "도로",
        "online",
    )
    assert cell["department_name"] == "도로과"  # kept when a later change does not name it


def test_the_nearest_rank_percentile() -> None:
    assert s.percentile({}, 0.9) is None
    assert s.percentile({n: 1 for n in range(1, 11)}, 0.9) == 9
    assert s.percentile({1: 5, 2: 4, 10: 1}, 0.9) == 2
    assert s.percentile({1: 5, 2: 4, 10: 2}, 0.9) == 10  # rank ceil(9.9) = 10
    assert s.percentile({4: 1}, 0.9) == 4


def test_group_figures_from_cells() -> None:
    cells = [
        s.add(
            None,
            "2026-03|road|도로|online",
            {
                "received": 3,
                "closed": 2,
                "on_time": 1,
                "late": 1,
                "open": 1,
                "overdue": 1,
                "days_sum": 9,
                "days.2": 1,
                "days.7": 1,
            },
            "도로과",
        ),
        s.add(
            None,
            "2026-04|road|도로|phone",
            {"received": 2, "closed": 1, "on_time": 1, "withdrawn": 1, "days_sum": 1, "days.1": 1},
        ),
        s.add(None, "2026-04|water|상수도|phone", {"received": 1, "open": 1}),
    ]
    by_department = s.summarise(cells, group_by="department")
    road, water = by_department["groups"]
    assert (road["key"], road["label"], road["received"], road["closed"], road["on_time"]) == (
        "road",
        "도로과",
        5,
        3,
        2,
    )
    assert road["on_time_rate"] == round(2 / 3, 4) and road["mean_days"] == round(10 / 3, 2)
    assert road["p90_days"] == 7 and road["backlog"] == 1 and road["overdue"] == 1 and road["withdrawn"] == 1
    assert (water["closed"], water["on_time_rate"], water["mean_days"], water["p90_days"], water["backlog"]) == (
        0,
        None,
        None,
        None,
        1,
    )
    total = by_department["total"]
    assert (total["received"], total["closed"], total["backlog"], total["p90_days"]) == (6, 3, 2, 7)
    assert [g["key"] for g in s.summarise(cells, group_by="month")["groups"]] == ["2026-03", "2026-04"]
    assert [g["received"] for g in s.summarise(cells, group_by="channel")["groups"]] == [3, 3]
    with pytest.raises(Invalid) as refused:
        s.summarise(cells, group_by="handler")
    assert refused.value.field == "group_by"


def test_month_ranges_default_to_twelve_months_and_name_the_field_they_refuse() -> None:
    now = kst(2026, 3, 15)
    assert s.month_range(None, None, now=now, calendar=CAL) == ("2025-04", "2026-03")
    assert s.month_range("2026-01", "2026-02", now=now, calendar=CAL) == ("2026-01", "2026-02")
    assert s.month_range(None, "2026-12", now=now, calendar=CAL) == ("2026-01", "2026-12")
    for first, last, field in (
        ("2026-13", None, "from"),
        ("March", None, "from"),
        (None, "2026-3-1", "to"),
        ("2026-05", "2026-04", "from"),
        ("2020-01", "2026-01", "from"),
        ("1999-12", "2000-01", "from"),
    ):
        with pytest.raises(Invalid) as refused:
            s.month_range(first, last, now=now, calendar=CAL)
        assert refused.value.field == field, (first, last)


def test_the_export_table_has_a_header_groups_and_a_total_and_no_formulas() -> None:
    cells = [s.add(None, "2026-03|=HYPERLINK(1)|도로|online", {"received": 1, "open": 1})]
    rows = s.table({**s.summarise(cells, group_by="department"), "from": "2026-03", "to": "2026-03"})
    assert rows[0][0] == "부서" and rows[0][1] == "접수" and rows[-1][0] == "합계"
    assert rows[1][0] == "'=HYPERLINK(1)" and rows[1][1] == 1

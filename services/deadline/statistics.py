"""Processing statistics (처리 통계): the rules of the read model, pure (no I/O, no clock reads).

Each complaint with a clock *counts as* one :data:`Counted` in one cell — the month it was
received (Korea time), its department, category and channel. The cell keeps counters
(:data:`FIELDS`) and a histogram of processing days, so every figure of a group is a sum of
cells: on-time rate, mean and 90th-percentile processing days, backlog and overdue.

When a complaint changes (closed, rerouted, breached), :func:`deltas` gives what to subtract from
its old cell and add to its new one; the clock document stores what it counts as, so the change
is computed from stored state, never from a request's clock.

Definitions (also in ``docs/statistics.md``):

- **received**: complaints whose clock opened (a refused or unknown kind has no clock).
- **closed** (처리완료): closed with an answer; **withdrawn** (취하) and **transferred** (이송) are
  counted apart and take no part in the rate or the days.
- **on time**: closed at or before the due time in force (extensions and supplementation waits
  included, as the clock computes it); **late** otherwise.
- **on-time rate**: on time / closed.
- **processing days**: working days (Saturdays, Sundays and public holidays excluded) from the day
  of receipt to the day of closure, both included, in Korea time; closed on the day of receipt is 1.
- **backlog**: still open (running or waiting for a supplement).
- **overdue**: open and past its legal period (the clock has signalled the breach).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from minwon.errors import Invalid
from minwon.workcal import WorkCalendar
from services.deadline import domain as d

GROUPINGS = ("department", "category", "channel", "month")
FIELDS = ("received", "open", "overdue", "closed", "on_time", "late", "withdrawn", "transferred", "days_sum")
NONE = "-"  # a cell dimension not known (not routed yet, no category given)
MAX_MONTHS = 60

Counted = dict[str, Any]
"""What one complaint counts as: ``{"seq", "cell": {month, department, category, channel},
"state", "on_time", "days", "overdue"}``; ``seq`` grows with every change (the counters' inbox key)."""


def month_of(instant: datetime, calendar: WorkCalendar) -> str:
    """The month of ``instant`` in the calendar's zone (Korea time): ``"2030-03"``."""
    return calendar.local(instant).strftime("%Y-%m")


def processing_days(received_at: datetime, closed_at: datetime, calendar: WorkCalendar) -> int:
    """Working days from the day of receipt to the day of closure, both included (Korea time)."""
    return calendar.working_days_between(calendar.local(received_at).date(), calendar.local(closed_at).date())


def counted(
    clock: d.Clock | None,
    *,
    department: str | None,
    category: str | None,
    channel: str | None,
    closed_by: str | None,
    breached: bool,
    calendar: WorkCalendar,
    previous: Mapping[str, Any] | None,
    department_name: str | None = None,
) -> Counted | None:
    """What a complaint counts as now (``None``: nothing, it has no clock); ``previous`` is what it
    counted as before (its ``seq`` is kept when nothing changed)."""
    if clock is None:
        return None
    state = "open" if not clock.closed else (closed_by or "closed")
    on_time = days = None
    if state == "closed":
        assert clock.closed_at is not None
        on_time = clock.due_at is None or clock.closed_at <= clock.due_at
        days = processing_days(clock.received_at, clock.closed_at, calendar)
    out: Counted = {
        "cell": {
            "month": month_of(clock.received_at, calendar),
            "department": department or NONE,
            "category": category or NONE,
            "channel": channel or NONE,
        },
        "state": state,
        "on_time": on_time,
        "days": days,
        "overdue": state == "open" and breached,
        "department_name": department_name,
    }
    old = dict(previous or {})
    seq = int(old.pop("seq", 0) or 0)
    return {"seq": seq if old == out else seq + 1, **out}


def cell_id(cell: Mapping[str, str]) -> str:
    return "|".join(str(cell[k]) for k in ("month", "department", "category", "channel"))


def _counters(c: Mapping[str, Any]) -> dict[str, int]:
    out = {
        "received": 1,
        "open": int(c["state"] == "open"),
        "overdue": int(bool(c["overdue"])),
        "closed": int(c["state"] == "closed"),
        "on_time": int(c["on_time"] is True),
        "late": int(c["on_time"] is False),
        "withdrawn": int(c["state"] == "withdrawn"),
        "transferred": int(c["state"] == "transferred"),
        "days_sum": int(c["days"] or 0),
    }
    if c["days"] is not None:
        out[f"days.{int(c['days'])}"] = 1
    return out


def deltas(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> dict[str, dict[str, int]]:
    """Per cell id, the counter changes that move a complaint from ``before`` to ``after``
    (zero changes left out; an empty dict when nothing moved)."""
    out: dict[str, dict[str, int]] = {}
    for sign, c in ((-1, before), (1, after)):
        if not c:
            continue
        cell = out.setdefault(cell_id(c["cell"]), {})
        for k, v in _counters(c).items():
            cell[k] = cell.get(k, 0) + sign * v
    return {cid: {k: v for k, v in ch.items() if v} for cid, ch in out.items() if any(ch.values())}


def add(
    cell: Mapping[str, Any] | None, cid: str, change: Mapping[str, int], department_name: str | None = None
) -> dict[str, Any]:
    """A cell document with ``change`` added to its counters (and the department's name, if heard)."""
    month, department, category, channel = cid.split("|", 3)
    counts = dict((cell or {}).get("counts") or {})
    days = dict((cell or {}).get("days") or {})
    for k, v in change.items():
        if k.startswith("days."):
            n = k.removeprefix("days.")
            days[n] = days.get(n, 0) + v
            if not days[n]:
                del days[n]
        else:
            counts[k] = counts.get(k, 0) + v
    return {
        "month": month,
        "department": department,
        "category": category,
        "channel": channel,
        "department_name": department_name or (cell or {}).get("department_name"),
        "counts": {k: counts.get(k, 0) for k in FIELDS},
        "days": days,
    }


# ---------------------------------------------------------------- reading


def percentile(histogram: Mapping[int, int], q: float) -> int | None:
    """The nearest-rank ``q`` percentile (0 < q <= 1) of integer values given as ``{value: count}``:
    the smallest value with at least ``ceil(q * n)`` values at or below it."""
    n = sum(histogram.values())
    if n == 0:
        return None
    rank = max(1, math.ceil(q * n - 1e-9))
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= rank:
            return value
    raise AssertionError("unreachable")


def figures(counts: Mapping[str, int], days: Mapping[int, int]) -> dict[str, Any]:
    """A group's published figures from its summed counters and days histogram."""
    closed = counts.get("closed", 0)
    return {
        "received": counts.get("received", 0),
        "closed": closed,
        "on_time": counts.get("on_time", 0),
        "late": counts.get("late", 0),
        "on_time_rate": round(counts.get("on_time", 0) / closed, 4) if closed else None,
        "mean_days": round(counts.get("days_sum", 0) / closed, 2) if closed else None,
        "p90_days": percentile(days, 0.9),
        "backlog": counts.get("open", 0),
        "overdue": counts.get("overdue", 0),
        "withdrawn": counts.get("withdrawn", 0),
        "transferred": counts.get("transferred", 0),
    }


def summarise(cells: Iterable[Mapping[str, Any]], *, group_by: str) -> dict[str, Any]:
    """Groups (sorted by key) and the total, from cell documents."""
    if group_by not in GROUPINGS:
        raise Invalid("group_by", f"one of {', '.join(GROUPINGS)}")
    groups: dict[str, tuple[dict[str, int], dict[int, int]]] = {}
    total: tuple[dict[str, int], dict[int, int]] = ({}, {})
    labels: dict[str, str] = {}
    for cell in cells:
        key = str(cell[group_by])
        if group_by == "department" and cell.get("department_name"):
            labels[key] = str(cell["department_name"])
        for counts, days in (groups.setdefault(key, ({}, {})), total):
            for k, v in (cell.get("counts") or {}).items():
                counts[k] = counts.get(k, 0) + int(v)
            for k, v in (cell.get("days") or {}).items():
                days[int(k)] = days.get(int(k), 0) + int(v)
    return {
        "group_by": group_by,
        "groups": [
            {"key": k, "label": labels.get(k, k), **figures(*groups[k])}
            for k in sorted(groups)
            if any(groups[k][0].values())
        ],  # a cell every complaint moved out of is left out
        "total": figures(*total),
    }


def parse_month(value: str | None, field: str) -> str | None:
    """``YYYY-MM`` or None; anything else is refused naming ``field``."""
    if value is None or value == "":
        return None
    try:
        parsed = datetime.strptime(value, "%Y-%m")
    except ValueError:
        raise Invalid(field, f"{field} is a month YYYY-MM, got {value!r}") from None
    if not 2000 <= parsed.year <= 2099:
        raise Invalid(field, f"{field} is a month between 2000-01 and 2099-12")
    return parsed.strftime("%Y-%m")


def month_range(start: str | None, end: str | None, *, now: datetime, calendar: WorkCalendar) -> tuple[str, str]:
    """The months asked for (``from``, ``to``, both included); by default the twelve months up to ``now``."""
    first, last = parse_month(start, "from"), parse_month(end, "to")
    if last is None:
        last = month_of(now, calendar)
    if first is None:
        y, m = int(last[:4]), int(last[5:])
        y, m = (y, m - 11) if m > 11 else (y - 1, m + 1)
        first = f"{y:04d}-{m:02d}"
    if first > last:
        raise Invalid("from", "from is a month before or equal to to")
    span = (int(last[:4]) - int(first[:4])) * 12 + int(last[5:]) - int(first[5:]) + 1
    if span > MAX_MONTHS:
        raise Invalid("from", f"at most {MAX_MONTHS} months at a time")
    return first, last


def year_range(year: int) -> tuple[str, str]:
    return f"{year:04d}-01", f"{year:04d}-12"


ROWS = (
    "received",
    "closed",
    "on_time",
    "late",
    "on_time_rate",
    "mean_days",
    "p90_days",
    "backlog",
    "overdue",
    "withdrawn",
    "transferred",
)
HEADERS_KO = {
    "received": "접수",
    "closed": "처리완료",
    "on_time": "기한 내 처리",
    "late": "기한 경과 처리",
    "on_time_rate": "기한 내 처리율",
    "mean_days": "평균 처리일수(근무일)",
    "p90_days": "90백분위 처리일수(근무일)",
    "backlog": "미처리(처리 중)",
    "overdue": "기한 경과 미처리",
    "withdrawn": "취하",
    "transferred": "이송",
}
GROUP_KO = {"department": "부서", "category": "분야", "channel": "접수 경로", "month": "접수 월"}


def table(result: Mapping[str, Any]) -> list[list[Any]]:
    """The export's rows: a header, one row per group, the total (as in CSV and XLSX)."""
    head = [GROUP_KO[result["group_by"]], *(HEADERS_KO[k] for k in ROWS)]
    body = [[_cell_text(g.get("label") or g["key"]), *(g[k] for k in ROWS)] for g in result["groups"]]
    return [head, *body, ["합계", *(result["total"][k] for k in ROWS)]]


def _cell_text(value: str) -> str:
    """A key as a spreadsheet cell: never read as a formula."""
    return "'" + value if value[:1] in ("=", "+", "-", "@") and value != NONE else value

"""Statistics and the yearly report on a generated data set, checked against an independent computation."""

from __future__ import annotations

import csv
import io
import random
import statistics as stats
import struct
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from minwon.errors import Conflict, Invalid
from minwon.workcal import WorkCalendar
from services.survey import domain
from services.survey.report import render_png
from tests.unit.survey.factories import random_rows

YEAR = 2026
ROWS = random_rows(random.Random(1120), 500, year=YEAR)
GENERATED = datetime(2027, 1, 10, 0, 0, tzinfo=UTC)


def _kst(value: str) -> datetime:
    """Seoul has no daylight saving: UTC+9 throughout."""
    return datetime.fromisoformat(value).astimezone(UTC).replace(tzinfo=None) + timedelta(hours=9)


def _expected(rows: list[dict[str, Any]], by: str, year: int) -> dict[str, dict[str, Any]]:
    """The same numbers, computed the plain way: filter per key, then mean with the statistics module."""

    def key(row: dict[str, Any], when: str) -> str:
        if by == "month":
            return _kst(row[when]).strftime("%Y-%m")
        return row[by] or "unknown"

    invited_rows = [r for r in rows if _kst(r["invited_at"]).year == year]
    answered_rows = [r for r in rows if r["responded_at"] and _kst(r["responded_at"]).year == year]
    keys = {key(r, "invited_at") for r in invited_rows} | {key(r, "responded_at") for r in answered_rows}
    out = {}
    for k in keys:
        inv = [r for r in invited_rows if key(r, "invited_at") == k]
        ans = [r for r in answered_rows if key(r, "responded_at") == k]
        out[k] = {
            "invited": len(inv),
            "responses": len(ans),
            "mean": {d: stats.fmean(r["scores"][d] for r in ans) if ans else None for d in domain.DIMENSIONS},
            "low_scores": sum(r["scores"]["overall"] <= 2 for r in ans),
            "ones": sum(r["scores"]["overall"] == 1 for r in ans),
        }
    return out


def test_the_generated_data_set_spans_years_and_is_mostly_answered() -> None:
    years = {_kst(r["invited_at"]).year for r in ROWS}
    assert years >= {YEAR - 1, YEAR, YEAR + 1}
    assert 350 < sum(1 for r in ROWS if r["scores"]) < 450


@pytest.mark.parametrize("by", domain.GROUPINGS)
def test_statistics_match_an_independent_computation(by: str) -> None:
    result = domain.statistics(ROWS, by=by, year=YEAR)
    expected = _expected(ROWS, by, YEAR)
    assert [g["key"] for g in result["groups"]] == sorted(expected)
    for group in result["groups"]:
        want = expected[group["key"]]
        assert group["invited"] == want["invited"]
        assert group["responses"] == want["responses"]
        assert group["low_scores"] == want["low_scores"]
        assert group["overall_distribution"]["1"] == want["ones"]
        for d in domain.DIMENSIONS:
            if want["mean"][d] is None:
                assert group["mean"][d] is None
            else:
                assert group["mean"][d] == pytest.approx(want["mean"][d], abs=0.0005)
        if want["invited"]:
            assert group["response_rate"] == pytest.approx(want["responses"] / want["invited"], abs=0.0005)
    total = result["total"]
    assert total["responses"] == sum(w["responses"] for w in expected.values())
    assert total["invited"] == sum(w["invited"] for w in expected.values())


def test_months_are_korean_months() -> None:
    row = {
        "department": "A",
        "channel": "online",
        "kind": "other",
        "invited_at": "2026-01-20T00:00:00+00:00",
        "responded_at": "2026-01-31T15:00:00+00:00",  # 2026-02-01 00:00 in Seoul
        "scores": {"speed": 1, "kindness": 2, "result": 3, "overall": 4},
        "low_score": False,
    }
    months = {g["key"]: g for g in domain.statistics([row], by="month", year=2026)["groups"]}
    assert months["2026-01"]["invited"] == 1 and months["2026-01"]["responses"] == 0
    assert months["2026-02"]["responses"] == 1 and months["2026-02"]["invited"] == 0


def test_an_unknown_grouping_is_refused() -> None:
    with pytest.raises(Invalid):
        domain.statistics(ROWS, by="handler", year=YEAR)


def test_no_responses_gives_empty_means_not_zero() -> None:
    result = domain.statistics([], by="department", year=YEAR)
    assert result["groups"] == [] and result["total"]["mean"]["overall"] is None
    assert result["total"]["response_rate"] is None


# ---------------------------------------------------------------- the yearly report


def _report(**kw: Any) -> dict[str, Any]:
    return domain.yearly_report(ROWS, year=YEAR, title="만족도 조사 결과", generated_at=GENERATED, **kw)


def test_the_report_json_matches_the_statistics() -> None:
    report = _report()
    for by in domain.GROUPINGS:
        assert report[f"by_{by}"] == domain.statistics(ROWS, by=by, year=YEAR)["groups"]
    assert report["total"] == domain.statistics(ROWS, by="kind", year=YEAR)["total"]
    assert report["status"] == "draft" and report["year"] == YEAR


def test_the_report_csv_parses_and_carries_every_group() -> None:
    report = _report()
    rows = list(csv.DictReader(io.StringIO(domain.report_csv(report))))
    assert list(rows[0]) == list(domain.CSV_COLUMNS)
    assert rows[0]["section"] == "total" and int(rows[0]["responses"]) == report["total"]["responses"]
    assert len(rows) == 1 + sum(len(report[f"by_{by}"]) for by in domain.GROUPINGS)
    by_key = {(r["section"], r["key"]): r for r in rows}
    for by in domain.GROUPINGS:
        for g in report[f"by_{by}"]:
            row = by_key[(by, g["key"])]
            assert int(row["invited"]) == g["invited"] and int(row["responses"]) == g["responses"]
            if g["mean"]["overall"] is not None:
                assert float(row["mean_overall"]) == pytest.approx(g["mean"]["overall"])
            else:
                assert row["mean_overall"] == ""


def test_the_report_svg_is_a_chart_of_the_figures_with_korean_labels() -> None:
    import xml.etree.ElementTree as ET

    from services.survey.chart import render_svg

    report = _report()
    svg = render_svg(report)
    root = ET.fromstring(svg)  # well-formed XML
    assert root.tag.endswith("svg")
    texts = " ".join(t.text or "" for t in root.iter() if t.tag.endswith("text") or t.tag.endswith("title"))
    assert "부서별 만족도" in texts and "신속성" in texts
    for group in report["by_department"]:
        assert group["key"] in texts
    bars = [
        r for r in root.iter() if r.tag.endswith("rect") and r.find("{http://www.w3.org/2000/svg}title") is not None
    ]
    department_bars = sum(1 for g in report["by_department"] for d in domain.DIMENSIONS if g["mean"][d] is not None)
    assert len(bars) == department_bars + len(report["by_month"])
    empty = render_svg(domain.yearly_report([], year=YEAR, title="<t&>", generated_at=GENERATED))
    assert "응답 없음" in empty and "&lt;t&amp;&gt;" in empty
    ET.fromstring(empty)


def test_the_report_png_is_a_real_chart() -> None:
    png = render_png(_report())
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == (1100, 850)
    assert len(png) > 20_000
    empty = render_png(domain.yearly_report([], year=YEAR, title="t", generated_at=GENERATED))
    assert empty[:8] == b"\x89PNG\r\n\x1a\n" and empty != png


# ---------------------------------------------------------------- publication and improvement actions


@pytest.mark.parametrize(
    ("published", "due"),
    [
        (date(2027, 1, 15), date(2027, 4, 14)),  # the day before the corresponding day (a Wednesday)
        (date(2026, 11, 30), date(2027, 3, 2)),  # no 30 Feb: 28 Feb (Sunday), 1 Mar (삼일절) -> Tuesday 2 Mar
        (date(2027, 3, 2), date(2027, 6, 1)),
    ],
)
def test_the_improvement_deadline_is_three_months_by_the_calendar(published: date, due: date) -> None:
    at = datetime(published.year, published.month, published.day, 10, tzinfo=domain.KST)
    deadline = domain.improvement_due(at)
    assert deadline == datetime(due.year, due.month, due.day, tzinfo=domain.KST) + timedelta(days=1)


def test_a_deadline_on_a_saturday_or_holiday_moves_to_the_next_working_day() -> None:
    cal = WorkCalendar()
    for day in range(1, 366):
        published = date(2026, 1, 1) + timedelta(days=day)
        at = datetime(published.year, published.month, published.day, 9, tzinfo=domain.KST)
        last = (domain.improvement_due(at) - timedelta(days=1)).date()
        assert cal.is_working_day(last), (published, last)


def test_a_published_report_is_frozen_and_starts_the_clock() -> None:
    now = datetime(2027, 1, 15, 1, tzinfo=UTC)
    doc = domain.publish_report(None, _report(), now=now, months=3)
    assert doc["report"]["status"] == domain.PUBLISHED and doc["report"]["published_at"] == now.isoformat()
    assert doc["improvement_due_at"] == domain.improvement_due(now).isoformat()
    with pytest.raises(Conflict):
        domain.publish_report(doc, _report(), now=now, months=3)


def test_improvement_actions_need_a_published_report_and_are_flagged_when_overdue() -> None:
    now = datetime(2027, 1, 15, 1, tzinfo=UTC)
    with pytest.raises(Conflict):
        domain.new_action(None, action_id="a", year=YEAR, title="t", description="", department=None, now=now)
    report = domain.publish_report(None, _report(), now=now, months=3)
    action = domain.new_action(
        report, action_id="a1", year=YEAR, title="야간 민원창구 운영", description="", department="민원과", now=now
    )
    due = datetime.fromisoformat(action["due_at"])
    assert domain.action_view(action, now=due - timedelta(seconds=1))["overdue"] is False
    assert domain.action_view(action, now=due)["overdue"] is True
    on_time = domain.publish_action(action, url="https://example.go.kr/notice/1", now=due - timedelta(days=1))
    on_time_view = domain.action_view(on_time, now=due + timedelta(days=9))
    assert (on_time_view["overdue"], on_time_view["late"], on_time_view["status"]) == (False, False, "published")
    late = domain.publish_action(action, url=None, now=due + timedelta(days=1))
    view = domain.action_view(late, now=due + timedelta(days=2))
    assert (view["overdue"], view["late"]) == (False, True)
    with pytest.raises(Conflict):
        domain.publish_action(late, url=None, now=due)

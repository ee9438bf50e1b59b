"""The yearly report's chart as SVG, drawn as text: no plotting library, no font file (the viewer's
Korean fonts render the labels). Mean scores per department (bars) and responses per month with the
mean overall score (bars and a line). The PNG of :mod:`services.survey.report` is an optional extra."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from xml.sax.saxutils import escape

from services.survey.domain import DIMENSIONS

LABELS = {"speed": "신속성", "kindness": "친절성", "result": "처리결과", "overall": "종합"}
COLOURS = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759")
WIDTH, LEFT, RIGHT = 1000, 70, 60
TOP_Y, TOP_H = 110, 300  # department bars
MONTH_Y, MONTH_H = 520, 200  # month bars and the overall line


def render_svg(report: Mapping[str, Any]) -> str:
    total = report["total"]
    status = "공표본" if report.get("status") == "published" else "초안"
    rate = total["response_rate"]
    summary = f"응답 {total['responses']} / 안내 {total['invited']}"
    if rate is not None:
        summary += f" · 응답률 {rate:.1%}"
    if total["mean"]["overall"] is not None:
        summary += f" · 종합 {total['mean']['overall']:.2f}"
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="780" viewBox="0 0 {WIDTH} 780" '
        f"font-family=\"NanumGothic, 'Noto Sans KR', 'Malgun Gothic', sans-serif\" role=\"img\" "
        f'aria-label="{_t(report["title"])} {report["year"]}">',
        f"<title>{_t(report['title'])} — {report['year']} ({status})</title>",
        '<rect width="100%" height="100%" fill="#fff"/>',
        f'<text x="{WIDTH / 2}" y="32" text-anchor="middle" font-size="20">{_t(report["title"])} — '
        f"{report['year']} ({status})</text>",
        f'<text x="{WIDTH / 2}" y="58" text-anchor="middle" font-size="14">{_t(summary)}</text>',
    ]
    out += _departments(report["by_department"])
    out += _months(report["by_month"])
    out.append("</svg>")
    return "\n".join(out)


def _t(value: Any) -> str:
    return escape(str(value), {'"': "&quot;"})


def _axis(y: float, h: float, top: float, label: str) -> list[str]:
    lines = [
        f'<text x="18" y="{y + h / 2}" font-size="12" transform="rotate(-90 18 {y + h / 2})" '
        f'text-anchor="middle">{_t(label)}</text>'
    ]
    for i in range(6):
        value = top * i / 5
        yy = y + h - h * i / 5
        lines.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{yy:.1f}" y2="{yy:.1f}" stroke="#ddd"/>')
        lines.append(f'<text x="{LEFT - 6}" y="{yy + 4:.1f}" font-size="11" text-anchor="end">{value:g}</text>')
    return lines


def _departments(groups: list[Mapping[str, Any]]) -> list[str]:
    out = [
        f'<text x="{WIDTH / 2}" y="{TOP_Y - 22}" text-anchor="middle" font-size="15">부서별 만족도 '
        "(평균 점수 1–5)</text>",
        *_axis(TOP_Y, TOP_H, 5, "평균 점수"),
    ]
    for i, dim in enumerate(DIMENSIONS):  # legend
        x = LEFT + i * 120
        out.append(
            f'<rect x="{x}" y="{TOP_Y - 14}" width="12" height="12" fill="{COLOURS[i]}"/>'
            f'<text x="{x + 16}" y="{TOP_Y - 4}" font-size="12">{LABELS[dim]}</text>'
        )
    if not groups:
        out.append(
            f'<text x="{WIDTH / 2}" y="{TOP_Y + TOP_H / 2}" text-anchor="middle" font-size="14">응답 없음</text>'
        )
        return out
    slot = (WIDTH - LEFT - RIGHT) / len(groups)
    bar = slot * 0.8 / len(DIMENSIONS)
    for n, group in enumerate(groups):
        x0 = LEFT + n * slot + slot * 0.1
        for i, dim in enumerate(DIMENSIONS):
            value = group["mean"][dim]
            if value is None:
                continue
            h = TOP_H * value / 5
            out.append(
                f'<rect x="{x0 + i * bar:.1f}" y="{TOP_Y + TOP_H - h:.1f}" width="{bar:.1f}" '
                f'height="{h:.1f}" fill="{COLOURS[i]}"><title>{_t(group["key"])} {LABELS[dim]} '
                f"{value:.2f}</title></rect>"
            )
        out.append(
            f'<text x="{LEFT + (n + 0.5) * slot:.1f}" y="{TOP_Y + TOP_H + 18}" font-size="11" '
            f'text-anchor="middle">{_t(group["key"])}</text>'
        )
    return out


def _months(groups: list[Mapping[str, Any]]) -> list[str]:
    most = max((g["responses"] for g in groups), default=0) or 1
    out = [
        f'<text x="{WIDTH / 2}" y="{MONTH_Y - 22}" text-anchor="middle" font-size="15">월별 응답 수와 종합 점수</text>',
        *_axis(MONTH_Y, MONTH_H, most, "응답 수"),
    ]
    if not groups:
        return out
    slot = (WIDTH - LEFT - RIGHT) / len(groups)
    points = []
    for n, group in enumerate(groups):
        h = MONTH_H * group["responses"] / most
        x = LEFT + n * slot
        out.append(
            f'<rect x="{x + slot * 0.2:.1f}" y="{MONTH_Y + MONTH_H - h:.1f}" width="{slot * 0.6:.1f}" '
            f'height="{h:.1f}" fill="#bab0ac"><title>{_t(group["key"])} 응답 {group["responses"]}'
            "</title></rect>"
        )
        out.append(
            f'<text x="{x + slot / 2:.1f}" y="{MONTH_Y + MONTH_H + 18}" font-size="11" '
            f'text-anchor="middle">{_t(group["key"])}</text>'
        )
        overall = group["mean"]["overall"]
        if overall is not None:
            points.append((x + slot / 2, MONTH_Y + MONTH_H - MONTH_H * overall / 5, overall))
    if points:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in points)
        out.append(f'<polyline points="{path}" fill="none" stroke="{COLOURS[3]}" stroke-width="2"/>')
        out += [
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{COLOURS[3]}"><title>종합 {v:.2f}</title></circle>'
            for x, y, v in points
        ]
    return out

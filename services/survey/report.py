"""The yearly report's chart: a PNG drawn with matplotlib's Agg backend (no display, no pyplot state).

Korean labels need a Hangul font: NanumGothic as shipped by the
``koreanize-matplotlib`` package (used for its font file only; importing it is
avoided because it changes global settings), else any installed CJK font,
else matplotlib's default font.
"""

from __future__ import annotations

import functools
import importlib.util
import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from services.survey.domain import DIMENSIONS

_CJK_FAMILIES = ("NanumGothic", "Noto Sans CJK KR", "Noto Sans KR", "UnDotum", "Malgun Gothic", "AppleGothic")
_LABELS = {
    "speed": "신속성 speed",
    "kindness": "친절성 kindness",
    "result": "처리결과 result",
    "overall": "종합 overall",
}
_COLOURS = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759")


@functools.lru_cache(maxsize=1)
def _font() -> Any:
    from matplotlib import font_manager

    spec = importlib.util.find_spec("koreanize_matplotlib")
    if spec is not None and spec.origin:
        bundled = Path(spec.origin).parent / "fonts" / "NanumGothic.ttf"
        if bundled.is_file():
            return font_manager.FontProperties(fname=str(bundled))
    installed = {f.name: f.fname for f in font_manager.fontManager.ttflist}
    for family in _CJK_FAMILIES:
        if family in installed:
            return font_manager.FontProperties(fname=installed[family])
    return font_manager.FontProperties()


def render_png(report: Mapping[str, Any]) -> bytes:
    """Mean scores per department (bars) and responses per month with the mean overall score (line)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    font = _font()
    departments = report["by_department"]
    months = report["by_month"]
    fig = Figure(figsize=(11, 8.5), dpi=100)
    FigureCanvasAgg(fig)
    top, bottom = fig.subplots(2, 1, gridspec_kw={"height_ratios": [3, 2]})
    total = report["total"]
    status = "공표본 published" if report.get("status") == "published" else "초안 draft"
    rate = total["response_rate"]
    fig.suptitle(
        f"{report['title']} — {report['year']} ({status})\n"
        f"응답 responses {total['responses']} / 안내 invited {total['invited']}"
        + (f" · 응답률 rate {rate:.1%}" if rate is not None else "")
        + (f" · 종합 overall {total['mean']['overall']:.2f}" if total["mean"]["overall"] is not None else ""),
        fontproperties=font,
        fontsize=13,
    )

    names = [g["key"] for g in departments]
    width = 0.8 / len(DIMENSIONS)
    for i, (dim, colour) in enumerate(zip(DIMENSIONS, _COLOURS, strict=True)):
        xs = [n + (i - (len(DIMENSIONS) - 1) / 2) * width for n in range(len(names))]
        ys = [g["mean"][dim] or 0 for g in departments]
        top.bar(xs, ys, width=width, color=colour, label=_LABELS[dim])
    top.set_xticks(range(len(names)), names, fontproperties=font, rotation=20 if len(names) > 6 else 0)
    top.set_ylim(0, 5.4)
    top.set_ylabel("평균 점수 mean score (1–5)", fontproperties=font)
    top.set_title("부서별 만족도 by department", fontproperties=font)
    top.legend(prop=font, ncols=4, loc="upper center", fontsize=9)
    top.grid(axis="y", alpha=0.3)
    if not names:
        top.text(
            0.5, 0.5, "응답 없음 no responses", ha="center", va="center", transform=top.transAxes, fontproperties=font
        )

    labels = [g["key"] for g in months]
    bottom.bar(range(len(labels)), [g["responses"] for g in months], color="#bab0ac", label="응답 responses")
    bottom.set_xticks(range(len(labels)), labels, fontproperties=font)
    bottom.set_ylabel("응답 수 responses", fontproperties=font)
    bottom.set_title("월별 응답과 종합 점수 by month", fontproperties=font)
    line = bottom.twinx()
    line.plot(
        range(len(labels)), [g["mean"]["overall"] for g in months], color=_COLOURS[3], marker="o", label="종합 overall"
    )
    line.set_ylim(0, 5.4)
    line.set_ylabel("종합 overall", fontproperties=font)
    fig.tight_layout()

    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()

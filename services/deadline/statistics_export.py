"""The processing statistics as files: CSV (UTF-8 with a byte-order mark, so spreadsheet programs
read the Korean headers) and XLSX (openpyxl). Both hold :func:`services.deadline.statistics.table`:
a header, one row per group, the total; the XLSX adds a sheet with the definitions."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Any

from services.deadline.statistics import table

DEFINITIONS = (
    ("기간", "접수 월 {from} ~ {to} (한국 시간)에 접수된 민원"),
    ("기한 내 처리율", "처리완료 중 처리기한(연장·보완 반영) 이내에 처리된 비율"),
    ("처리일수", "접수일부터 처리일까지의 근무일 수 (양 끝 포함, 토·일·공휴일 제외)"),
    ("90백분위 처리일수", "처리완료 민원의 90%가 이 일수 이내에 처리됨 (최근순위법)"),
    ("미처리", "처리 중이거나 보완을 기다리는 민원"),
    ("기한 경과 미처리", "미처리 중 처리기한이 지난 민원"),
    ("취하·이송", "처리율과 처리일수에서 제외"),
)


def filename(result: Mapping[str, Any], ext: str) -> str:
    return f"minwon-statistics-{result['group_by']}-{result['from']}-{result['to']}.{ext}"


def to_csv(result: Mapping[str, Any]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in table(result):
        writer.writerow(["" if v is None else v for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(result: Mapping[str, Any]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "처리 통계"
    rows = table(result)
    for row in rows:
        sheet.append(row)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for cell in sheet[len(rows)]:
        cell.font = Font(bold=True)
    rate = rows[0].index("기한 내 처리율") + 1
    for r in range(2, len(rows) + 1):
        sheet.cell(row=r, column=rate).number_format = "0.0%"
    sheet.column_dimensions["A"].width = 18
    sheet.freeze_panes = "B2"
    about = book.create_sheet("정의")
    for name, text in DEFINITIONS:
        about.append([name, text.format(**{"from": result["from"], "to": result["to"]})])
    about.column_dimensions["A"].width = 20
    about.column_dimensions["B"].width = 70
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()

"""Processing statistics on screen: the complaint office's table (with its exports) in the console, and
the public figures on the citizen portal, which name no one."""

from __future__ import annotations

import io
import re
import uuid
from typing import Any

from openpyxl import load_workbook
from playwright.sync_api import expect

from tests.browser.conftest import System, shot, sign_in
from tests.e2e.harness import wait_for

PHONE = re.compile(r"\d{2,3}-\d{3,4}-\d{4}")


def _close(system: System, receipt_no: str) -> None:
    answer = {"outcome": "accepted", "text": "보수 공사를 마쳤습니다."}
    system.json("PUT", f"/api/v1/complaints/{receipt_no}/answer", json=answer)
    system.json("POST", f"/api/v1/complaints/{receipt_no}/answer/submit")
    if system.json("GET", f"/api/v1/complaints/{receipt_no}")["status"] != "closed":
        system.json("POST", f"/api/v1/complaints/{receipt_no}/answer/approve", json={})


def test_the_console_table_and_the_public_page_show_the_figures(system: System, new_page: Any) -> None:
    category = f"통계시험{uuid.uuid4().hex[:6]}"  # a category no other test files in
    citizen = {"name": "박통계", "phone": "010-9876-5432"}
    done = system.file(category=category, **citizen)["receipt_no"]
    open_ = system.file(category=category, channel="online", **citizen)["receipt_no"]
    handler = system.assignment(done)["handler"]
    system.assignment(open_)
    _close(system, done)
    system.clock(done, lambda c: c.get("status") == "closed")

    def counted() -> dict[str, Any] | None:
        stats = system.json("GET", "/api/v1/deadlines/statistics?group_by=category")
        row = next((g for g in stats["groups"] if g["key"] == category), None)
        return row if row and row["received"] == 2 and row["closed"] == 1 else None

    row = wait_for(counted, timeout=30)
    assert (row["on_time"], row["on_time_rate"], row["backlog"]) == (1, 1.0, 1)
    assert row["mean_days"] == row["p90_days"] in (0, 1)  # closed on the day of receipt (0 on a weekend)

    page = new_page()
    sign_in(page, "office")
    page.get_by_role("link", name="처리 통계").click()
    expect(page).to_have_url(re.compile(r"/console/statistics"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("민원 처리 통계")
    page.get_by_label("기준").select_option("category")
    page.get_by_role("button", name="보기").click()
    mine = page.locator(f"#processing-stats tr[data-key='{category}']")
    expect(mine.locator("td.received")).to_have_text("2")
    expect(mine.locator("td.closed")).to_have_text("1")
    expect(mine.locator("td.on_time_rate")).to_have_text("100.0%")
    expect(mine.locator("td.backlog")).to_have_text("1")
    expect(page.locator("svg.chart")).to_be_visible()
    shot(page, "console-processing-statistics")

    with page.expect_download() as download:
        page.locator("#download-xlsx").click()
    sheet = load_workbook(io.BytesIO(open(download.value.path(), "rb").read()))["처리 통계"]  # noqa: SIM115
    rows = {r[0]: r for r in sheet.iter_rows(values_only=True)}
    assert rows[category][1:3] == (2, 1) and rows["합계"][1] >= 2

    page.goto("/console/statistics?from=2026-13&by=month")  # a month that is not one: the field is named
    expect(page.get_by_role("alert")).to_contain_text("시작 월")

    citizen_page = new_page()
    citizen_page.goto("/")
    citizen_page.get_by_role("link", name="민원 처리 현황").click()
    expect(citizen_page).to_have_url(re.compile(r"/statistics"))
    citizen_page.get_by_label("기준").select_option("category")
    citizen_page.get_by_role("button", name="보기").click()
    public_row = citizen_page.locator(f"#processing-stats tr[data-key='{category}']")
    expect(public_row.locator("td.received")).to_have_text("2")
    expect(public_row.locator("td.backlog")).to_have_text("1")
    html = citizen_page.content()
    for secret in (citizen["name"], citizen["phone"], handler["name"], done, open_):
        assert secret not in html, secret
    assert not PHONE.search(citizen_page.inner_text("main"))
    shot(citizen_page, "portal-processing-statistics")

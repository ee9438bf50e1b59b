"""The complaint office sets a department's working hours in the console: round the clock for a
one-stop office, its own days and periods for another; hours that do not read are refused, naming
the field; a handler sees the hours and cannot change them."""

from __future__ import annotations

import re
import uuid
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import System, shot, sign_in


def test_the_complaint_office_sets_a_department_round_the_clock(system: System, new_page: Any) -> None:
    code = f"one-stop-{uuid.uuid4().hex[:6]}"
    system.json(
        "PUT",
        f"/api/v1/routing/departments/{code}",
        json={
            "name": "종합민원실",
            "phone": "051-120-0000",
            "handlers": [{"id": f"{code}-01", "name": "박민원", "contact": "051-120-0001"}],
        },
    )

    office = new_page()
    sign_in(office, "office")
    office.get_by_role("link", name="부서 근무시간").click()
    expect(office).to_have_url(re.compile(r"/console/departments"))
    row = office.locator(f"#departments tr[data-department='{code}']")
    expect(row).to_contain_text("법정 근무시간")

    row.get_by_text("변경").click()
    row.get_by_label("24시간·연중무휴").check()
    row.get_by_role("button", name="근무시간 저장").click()
    expect(office.get_by_role("status")).to_contain_text("근무시간을 저장했습니다")
    row = office.locator(f"#departments tr[data-department='{code}']")
    expect(row.locator(".hours")).to_have_text("24시간·연중무휴")
    shown = system.json("GET", f"/api/v1/routing/departments/{code}")
    assert shown["hours"]["always_open"] is True and shown["hours"]["periods"] == ["00:00-24:00"]
    assert [h["id"] for h in shown["handlers"]] == [f"{code}-01"]  # the handlers are kept
    shot(office, "console-department-hours")

    # own hours that overlap are refused with the field named; nothing changes
    row.get_by_text("변경").click()
    row.get_by_label("직접 지정").check()
    row.get_by_label("근무 시간대").fill("09:00-13:00, 12:00-18:00")
    row.get_by_role("button", name="근무시간 저장").click()
    expect(office.get_by_role("alert")).to_contain_text("hours.periods.1")
    assert system.json("GET", f"/api/v1/routing/departments/{code}")["hours"]["always_open"] is True

    # weekends only, holidays open
    row = office.locator(f"#departments tr[data-department='{code}']")
    row.get_by_label("직접 지정").check()
    for day in ("월", "화", "수", "목", "금"):
        row.get_by_label(day, exact=True).uncheck()
    for day in ("토", "일"):
        row.get_by_label(day, exact=True).check()
    row.get_by_label("근무 시간대").fill("10:00-16:00")
    row.get_by_label("공휴일에도 근무").check()
    row.get_by_role("button", name="근무시간 저장").click()
    expect(office.get_by_role("status")).to_contain_text("근무시간을 저장했습니다")
    expect(office.locator(f"#departments tr[data-department='{code}'] .hours")).to_have_text(
        "토·일 10:00-16:00 (공휴일에도 근무)"
    )
    hours = system.json("GET", f"/api/v1/routing/departments/{code}")["hours"]
    assert hours == {"always_open": False, "days": ["sat", "sun"], "periods": ["10:00-16:00"], "open_on_holidays": True}

    handler = new_page()
    sign_in(handler, "traffic-01")
    handler.goto("/console/departments")
    expect(handler.locator(f"#departments tr[data-department='{code}'] .hours")).to_contain_text("토·일")
    expect(handler.get_by_role("button", name="근무시간 저장")).to_have_count(0)
    refused = handler.request.post(f"/console/departments/{code}/hours", form={"mode": "statutory"})
    assert refused.status in (403, 400)

"""Staff search in the console: an official finds a complaint by the citizen's name (through intake's
blind index), opens it and keeps an internal note on it; an official of another department finds
nothing; a repeat and a duplicate show on the complaint page."""

from __future__ import annotations

import re
import uuid
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import System, other_department, shot, sign_in


def test_an_official_searches_by_name_opens_the_complaint_and_keeps_a_note(system: System, new_page: Any) -> None:
    name = f"한가람{uuid.uuid4().hex[:4]}"
    filed = system.file(name=name, title="해운대 시장 앞 가로등 고장", body="시장 앞 가로등이 밤새 깜빡입니다.")
    receipt_no = filed["receipt_no"]
    assignment = system.assignment(receipt_no)
    twin = system.file(title="해운대 시장 앞 가로등이 고장났어요", body="가로등이 꺼졌어요.")["receipt_no"]
    system.assignment(twin)

    page = new_page()
    sign_in(page, f"{assignment['department']}-lead")
    page.get_by_role("link", name="민원 검색").click()
    expect(page).to_have_url(re.compile(r"/console/search"))
    page.get_by_label("성명").fill(name[:2] + " " + name[2:])  # spaces in a name do not matter
    page.get_by_role("button", name="검색").click()
    results = page.locator("#search-results")
    expect(results.locator(f"tr[data-receipt='{receipt_no}']")).to_have_count(1)
    expect(results.locator("tbody tr")).to_have_count(1)
    shot(page, "console-search")

    results.get_by_role("link", name=receipt_no).click()
    expect(page).to_have_url(re.compile(rf"/console/complaints/{receipt_no}"))
    expect(page.locator("#contact-name")).to_have_text(name)
    expect(page.locator("#link-suggestions")).to_contain_text(twin)
    page.get_by_label("메모", exact=True).fill("현장 확인 예정 (내일 오전)")
    page.get_by_role("button", name="메모 추가").click()
    expect(page.locator("#internal-notes")).to_contain_text("현장 확인 예정 (내일 오전)")
    shot(page, "console-complaint-notes")

    citizen = system.api(
        "GET", f"/api/v1/complaints/{receipt_no}", params={"code": filed["check_code"]}, headers={"Authorization": ""}
    )
    assert citizen.status_code == 200 and "현장 확인 예정" not in citizen.text

    stranger = new_page()
    sign_in(stranger, f"{other_department(assignment['department'])}-lead")
    stranger.goto(f"/console/search?name={name}")
    expect(stranger.locator("#search-none")).to_be_visible()


def _answered(system: System, receipt_no: str) -> None:
    """Answered and closed by the complaint office (approved where the department needs it)."""
    system.json("PUT", f"/api/v1/complaints/{receipt_no}/answer", json={"outcome": "accepted", "text": "수리했습니다."})
    system.json("POST", f"/api/v1/complaints/{receipt_no}/answer/submit")
    if system.json("GET", f"/api/v1/complaints/{receipt_no}")["status"] != "closed":
        system.json("POST", f"/api/v1/complaints/{receipt_no}/answer/approve", json={})


def test_the_complaint_office_closes_a_flagged_repeat_with_the_statutory_notice(system: System, new_page: Any) -> None:
    tag = uuid.uuid4().hex[:4]
    citizen = {"name": f"반복{tag}", "phone": f"010-9{int(tag, 16) % 1000:03d}-4321", "title": "놀이터 그네 파손 신고"}
    earlier = []
    for _ in range(2):
        receipt_no = system.file(**citizen)["receipt_no"]
        system.assignment(receipt_no)
        _answered(system, receipt_no)
        earlier.append(receipt_no)
    third = system.file(**citizen)["receipt_no"]
    system.assignment(third)

    page = new_page()
    sign_in(page, "office")
    page.goto(f"/console/complaints/{third}")
    flag = page.locator("#repeat-flag")
    for receipt_no in earlier:
        expect(flag).to_contain_text(receipt_no)
    shot(page, "console-repeat")
    page.get_by_label("종결 사유").fill("같은 내용으로 세 번째 제출")
    page.get_by_role("button", name="반복민원으로 종결").click()
    expect(page.locator("h1")).to_contain_text("처리 완료")
    closed = system.json("GET", f"/api/v1/complaints/{third}")
    assert closed["status"] == "closed" and closed["outcome"] == "rejected"
    assert closed["timeline"][-1]["by"]["id"] == "office"

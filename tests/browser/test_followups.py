"""A citizen's low satisfaction score reaches the department's team lead as a follow-up task in the
console; the lead records what was done and the task leaves the list."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import System, shot, sign_in
from tests.e2e.harness import wait_for


def test_a_low_score_becomes_a_follow_up_the_team_lead_closes_in_the_console(system: System, new_page: Any) -> None:
    # a department no other browser test counts survey answers of (the story checks road's statistics)
    filed = system.file(title="쓰레기 무단투기", body="골목에 쓰레기 무단투기가 계속됩니다.", category="청소")
    receipt_no = filed["receipt_no"]
    department = system.assignment(receipt_no)["department"]
    assert department == "waste"
    # the complaint office answers and approves (결재) it
    answer = {"outcome": "accepted", "text": "단속 카메라를 설치했습니다."}
    system.json("PUT", f"/api/v1/complaints/{receipt_no}/answer", json=answer)
    system.json("POST", f"/api/v1/complaints/{receipt_no}/answer/submit")
    if system.json("GET", f"/api/v1/complaints/{receipt_no}")["status"] != "closed":
        system.json("POST", f"/api/v1/complaints/{receipt_no}/answer/approve", json={})
    survey = wait_for(
        lambda: (lambda s: s if s.get("link") else None)(
            system.json("GET", f"/api/v1/surveys/complaints/{receipt_no}")
        ),
        timeout=30,
    )
    token = survey["link"].removeprefix("/survey/")
    answered = system.api(
        "POST",
        f"/api/v1/surveys/{token}",
        headers={"Authorization": ""},
        json={"speed": 1, "kindness": 2, "result": 1, "overall": 1, "text": "연락이 늦었습니다"},
    )
    assert answered.status_code == 201, answered.text

    lead = new_page()
    sign_in(lead, f"{department}-lead")
    lead.get_by_role("link", name="불만족 후속조치").click()
    expect(lead).to_have_url(re.compile(r"/console/followups"))
    row = lead.locator(f"#followups tr[data-receipt='{receipt_no}']")
    expect(row).to_contain_text("연락이 늦었습니다")
    expect(row).to_contain_text("1 · 2 · 1 · 1")
    shot(lead, "console-followups")
    row.get_by_label("조치 내용").fill("민원인께 전화로 사과드리고 점검 일정을 안내함")
    row.get_by_role("button", name="조치 완료").click()
    expect(lead.get_by_role("status")).to_contain_text("후속조치를 완료로 기록했습니다")
    expect(lead.locator(f"#followups tr[data-receipt='{receipt_no}']")).to_have_count(0)
    resolved = system.json("GET", "/api/v1/surveys/followups?status=resolved")["items"]
    [mine] = [f for f in resolved if f["receipt_no"] == receipt_no]
    assert mine["note"].startswith("민원인께 전화로") and mine["resolved_by"]["id"] == f"{department}-lead"

"""Cooperating departments (협조부서) in the console: the lead handler asks another department from the
complaint page, that department's official finds it in 「협조 요청」, reads the complaint and replies, and the
lead handler reads the reply on the complaint page. The citizen never sees either text."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import System, other_department, shot, sign_in
from tests.browser.test_accessibility import UNLABELLED
from tests.e2e.harness import wait_for
from tests.factories import staff_headers

DUPLICATE_IDS = """() => { const seen = {}; const twice = [];
  for (const el of document.querySelectorAll('[id]')) { if (seen[el.id]) twice.push(el.id); seen[el.id] = 1; }
  return twice; }"""
QUESTION = "보도 들뜸이 가로수 뿌리 때문인지 현장 확인 후 회신 바랍니다"
REPLY = "가로수 뿌리가 원인입니다. 다음 주 화요일에 뿌리 정리 작업을 하겠습니다"


def test_the_lead_asks_another_department_which_replies_and_the_lead_reads_it(system: System, new_page: Any) -> None:
    filed = system.file(title="보도블록 들뜸", body="가로수 옆 보도블록이 들떠서 걸려 넘어질 것 같습니다.")
    receipt_no = filed["receipt_no"]
    assignment = system.assignment(receipt_no)
    asked = other_department(assignment["department"])

    handler = new_page()
    sign_in(handler, assignment["handler"]["id"])
    handler.goto(f"/console/complaints/{receipt_no}")
    form = handler.locator("#coop-ask")
    form.get_by_label("협조부서").select_option(asked)
    form.get_by_label("회신기한 (근무일)").fill("2")
    form.get_by_label("요청 내용").fill(QUESTION)
    form.get_by_role("button", name="협조 요청").click()
    expect(handler.locator("#coop-done")).to_contain_text("협조를 요청했습니다")
    row = handler.locator(f"#cooperation-list tr[data-department='{asked}']")
    expect(row).to_contain_text(QUESTION)
    expect(row).to_contain_text("회신 대기")
    # the deadline service announces the due date on the working calendar
    wait_for(
        lambda: system.json("GET", f"/api/v1/complaints/{receipt_no}/cooperation")["items"][0]["due_at"], timeout=30
    )
    handler.reload()
    expect(handler.locator(f"#cooperation-list tr[data-department='{asked}']")).not_to_contain_text("근무일 이내")
    shot(handler, "console-cooperation-request")
    assert handler.evaluate(UNLABELLED) == [] and handler.evaluate(DUPLICATE_IDS) == []

    official = new_page()
    sign_in(official, f"{asked}-01")
    official.get_by_role("link", name="협조 요청").first.click()
    expect(official).to_have_url(re.compile(r"/console/cooperation"))
    listed = official.locator(f"#cooperation-requests tr[data-receipt='{receipt_no}']")
    expect(listed).to_contain_text("회신 대기")
    shot(official, "console-cooperation-list")
    assert official.evaluate(UNLABELLED) == []
    listed.get_by_role("link", name=receipt_no).click()
    expect(official.locator("#coop-text")).to_contain_text("가로수 옆 보도블록")
    expect(official.locator(".coop-question")).to_contain_text(QUESTION)
    official.get_by_label("회신").fill(REPLY)
    shot(official, "console-cooperation-reply-form")
    assert official.evaluate(UNLABELLED) == [] and official.evaluate(DUPLICATE_IDS) == []
    official.get_by_role("button", name="회신 보내기").click()
    expect(official.locator("#coop-done")).to_contain_text("회신을 보냈습니다")
    expect(official.locator(".coop-reply")).to_contain_text(REPLY)
    expect(official.locator("#coop-closed")).to_be_visible()  # the request answered: the complaint is not shown
    expect(official.locator("#coop-text")).to_have_count(0)
    # the lead department's complaint page sends the department asked to its request's page
    official.goto(f"/console/complaints/{receipt_no}")
    expect(official).to_have_url(re.compile(f"/console/cooperation/{receipt_no}$"))
    expect(official.locator(".coop-reply")).to_contain_text(REPLY)
    official.goto("/console/cooperation?state=all&lang=en")
    expect(official.locator(f"#cooperation-requests tr[data-receipt='{receipt_no}']")).to_contain_text("replied")

    handler.reload()
    done = handler.locator(f"#cooperation-list tr[data-department='{asked}']")
    expect(done).to_contain_text("회신 완료")
    expect(done.locator(".coop-reply")).to_contain_text(REPLY)
    shot(handler, "console-cooperation-replied")

    # the citizen's view has neither text
    public = system.api(
        "GET", f"/api/v1/complaints/{receipt_no}", params={"code": filed["check_code"]}, headers={"Authorization": ""}
    ).text
    assert "가로수 뿌리가 원인" not in public and "현장 확인 후 회신" not in public
    # reading it as the department asked is in the audit log
    privacy = staff_headers("privacy-cooperation", department="audit", roles=("privacy_officer",))
    audit = system.json("GET", "/api/v1/complaints/audit", params={"receipt_no": receipt_no}, headers=privacy)
    entries = audit["items"] if isinstance(audit, dict) else audit
    assert any(e["action"] == "read_as_cooperating_department" and e["actor_id"] == f"{asked}-01" for e in entries)

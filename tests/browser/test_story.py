"""The whole story in a real browser: a citizen files and looks up a complaint; the routed
department's handler works it from the queue to closure; the citizen answers the survey; the
statistics show the answer. Screens are saved to docs/screenshots/."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import System, shot, sign_in
from tests.e2e.harness import wait_for

REMAINING = re.compile(r"^(D-\d+|D-day|D\+\d+) / -?\d+(\.\d)?h$")


def file_in_portal(page: Any, *, title: str, body: str, screenshots: bool = False) -> tuple[str, str]:
    """A citizen files a complaint through the portal; returns (receipt number, check code)."""
    page.goto("/")
    if screenshots:
        shot(page, "portal-home")
    page.get_by_role("link", name="민원 신청하기").click()
    expect(page.locator("#identity-rule")).to_contain_text("성명과 주소 또는 연락처가 필요합니다")
    if screenshots:
        shot(page, "portal-file")

    # the identity rule is explained and checked before anything is sent
    page.get_by_label("성명").fill("김시민")
    page.get_by_label("제목").fill(title)
    page.locator("#body").fill(body)
    page.get_by_role("button", name="민원 신청").click()
    expect(page.locator("#contact-error")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/complaints/new$"))

    page.get_by_label("휴대전화 번호").fill("010-2345-6789")
    page.get_by_label("민원 종류").select_option("grievance")
    page.get_by_label("분야").select_option("도로")
    page.get_by_label("구·군").select_option("해운대구")
    page.get_by_label("문자(SMS)").check()
    page.get_by_role("button", name="민원 신청").click()
    expect(page.get_by_role("heading", name="민원이 접수되었습니다")).to_be_visible()
    receipt_no = page.locator("#receipt-no").inner_text().strip()
    code = page.locator("#check-code").inner_text().strip()
    assert re.fullmatch(r"\d{4}-[A-Z]+-\d{7}", receipt_no), receipt_no
    assert re.fullmatch(r"[2-9A-HJKMNP-Z]{10}", code), code  # the check-code alphabet (docs/security.md)
    if screenshots:
        shot(page, "portal-receipt")
    return receipt_no, code


def set_approval(system: System, department: str, *, required: bool) -> None:
    """The department's answer policy (the complaint office's setting)."""
    policy = system.json(
        "PUT", f"/api/v1/complaints/answer-policies/{department}", json={"approval_required": required}
    )
    assert policy, policy


def reload_until(page: Any, locator: str, text: str, timeout: float = 20) -> None:
    """Reload until ``locator`` shows ``text``: another service catches up through the bus."""

    def shown() -> bool:
        page.reload()
        return text in page.locator(locator).inner_text()

    wait_for(shown, timeout=timeout, interval=0.5)


def test_citizen_files_and_looks_up_a_complaint(system: System, new_page: Any) -> None:
    page = new_page()
    receipt_no, code = file_in_portal(
        page, title="보도블록 파손 신고", body="집 앞 보도블록이 깨져 넘어질 뻔했습니다.", screenshots=True
    )

    page.get_by_role("button", name="처리 상황 보기").click()
    result = page.locator("#lookup-result")
    expect(result).to_contain_text(receipt_no)
    expect(result).to_contain_text("접수")
    shot(page, "portal-lookup")

    # a wrong check code reveals nothing
    page.goto("/lookup")
    page.get_by_label("접수번호").fill(receipt_no)
    page.get_by_label("확인 코드").fill("000000" if code != "000000" else "111111")
    page.get_by_role("button", name="조회").click()
    expect(page.get_by_role("alert")).to_contain_text("맞지 않습니다")
    expect(page.locator("#lookup-result")).to_have_count(0)

    # the complaint really is in intake, with the consent given
    staff_view = system.json("GET", f"/api/v1/complaints/{receipt_no}")
    assert staff_view["channel"] == "online" and staff_view["category"] == "도로"


def test_handler_works_a_complaint_to_closure_and_the_citizen_answers_the_survey(system: System, new_page: Any) -> None:
    citizen = new_page()
    receipt_no, code = file_in_portal(citizen, title="보도블록 파손", body="보도블록이 들떠 있어 위험합니다.")
    assignment = system.assignment(receipt_no)
    department, handler_id = assignment["department"], assignment["handler"]["id"]
    system.clock(receipt_no, lambda c: c.get("due_at"))

    # the routed department's handler finds it in their queue, with its remaining working time
    official = new_page()
    sign_in(official, handler_id)
    expect(official).to_have_url(re.compile(r"/console/queue"))
    row = official.locator(f"#queue tr[data-receipt='{receipt_no}']")
    expect(row).to_be_visible()
    remaining = row.locator(".remaining").inner_text().strip()
    assert REMAINING.match(remaining), remaining
    shot(official, "console-queue")

    row.get_by_role("link", name=receipt_no).click()
    expect(official.locator("h1")).to_contain_text(receipt_no)
    expect(official.locator("#deadline .remaining")).to_have_text(REMAINING)
    shot(official, "console-complaint")
    reload_until(official, "#survey", "처리 완료 후 안내")  # the survey waits for the complaint to close

    official.locator("#do-acknowledge").click()
    expect(official.locator("#done")).to_be_visible()
    expect(official.locator("h1 .badge")).to_have_text("처리 중")

    official.locator("summary", has_text="보완 요청").click()
    official.locator("#sup-reason").fill("현장 사진을 보내 주세요.")
    official.locator("#do-supplementation").click()
    expect(official.locator("h1 .badge")).to_have_text("보완 대기")
    reload_until(official, "#deadline", "보완 대기로 기한이 멈춰 있습니다")  # the deadline clock paused

    official.locator("#do-supplement").click()  # the supplement arrived
    expect(official.locator("h1 .badge")).to_have_text("처리 중")
    system.clock(receipt_no, lambda c: not c["paused"] and len(c["pauses"]) == 1)

    official.locator("summary", has_text="처리기간 연장").click()
    official.locator("#ext-reason").fill("현장 조사 일정이 필요합니다.")
    official.locator("#ext-period").fill("7d")
    official.locator("#do-extend").click()
    expect(official.locator("#done")).to_contain_text("처리기간 연장")
    clock = system.clock(receipt_no, lambda c: len(c["extensions"]) == 1)
    assert clock["extensions"][0]["by"] == "7d"
    shot(official, "console-complaint-working")

    # this department answers without the team lead's approval: the confirmed answer closes the complaint
    set_approval(system, department, required=False)
    try:
        official.reload()
        expect(official.locator("#approval-policy")).to_contain_text("결재 없이")
        official.locator("#answer-outcome").select_option("accepted")
        official.locator("#answer-text").fill("보도블록을 교체했습니다. 불편을 드려 죄송합니다.")
        official.get_by_role("button", name="답변 확정 (처리 완료·통지)").click()
        expect(official.locator("h1 .badge")).to_have_text("처리 완료")
    finally:
        set_approval(system, department, required=True)
    expect(official.locator("#actions")).to_contain_text("할 수 있는 처리가 없습니다")

    # the timeline spans the services
    reload_until(official, "#timeline", "만족도 조사 안내")
    for source in ("intake", "routing", "deadline", "notification", "survey"):
        assert official.locator(f"#timeline tr[data-source='{source}']").count() > 0, source
    assert official.locator("#timeline tr[data-step='supplementation_requested']").count() == 1
    assert official.locator("#timeline tr[data-step='extended']").count() >= 1
    shot(official, "console-complaint-closed")

    # the citizen sees the result, then answers the survey from its link
    citizen.goto("/lookup")
    citizen.get_by_label("접수번호").fill(receipt_no)
    citizen.get_by_label("확인 코드").fill(code)
    citizen.get_by_role("button", name="조회").click()
    expect(citizen.locator("#lookup-result")).to_contain_text("처리 완료")
    expect(citizen.locator("#lookup-result")).to_contain_text("수용")
    expect(citizen.locator("#answer-text")).to_have_text("보도블록을 교체했습니다. 불편을 드려 죄송합니다.")

    survey = wait_for(
        lambda: (lambda s: s if s.get("link") else None)(
            system.json("GET", f"/api/v1/surveys/complaints/{receipt_no}")
        ),
        timeout=30,
    )
    assert survey["link"].startswith("/survey/")
    citizen.goto(survey["link"])
    expect(citizen.get_by_role("heading", name="민원 만족도 조사")).to_be_visible()
    shot(citizen, "survey")
    for dimension, score in (("speed", 5), ("kindness", 5), ("result", 4), ("overall", 4)):
        citizen.locator(f"#{dimension}-{score}").check()
    citizen.get_by_label("더 하고 싶은 말씀 (선택)").fill("빠르게 고쳐 주셔서 고맙습니다.")
    citizen.get_by_role("button", name="응답 보내기").click()
    expect(citizen.get_by_role("status")).to_contain_text("응답해 주셔서 감사합니다")
    shot(citizen, "survey-thanks")
    citizen.goto(survey["link"])
    expect(citizen.get_by_role("status")).to_contain_text("이미 응답하신 조사입니다")

    # the statistics page shows the answer; the team lead reads the comment, the handler does not
    lead = new_page()
    sign_in(lead, f"{department}-lead")
    lead.goto("/console/stats")
    group = lead.locator(f"#stats tr[data-key='{department}']")
    expect(group.locator(".responses")).to_have_text("1")
    expect(group.locator(".mean-overall")).to_have_text("4.00")
    expect(group.locator(".mean-speed")).to_have_text("5.00")
    wait_for(lambda: lead.evaluate("document.getElementById('report-chart').naturalWidth") > 0, timeout=20)
    shot(lead, "console-stats")

    lead.goto(f"/console/complaints/{receipt_no}")
    expect(lead.locator("#survey")).to_contain_text("빠르게 고쳐 주셔서 고맙습니다.")
    official.goto(f"/console/complaints/{receipt_no}")
    expect(official.locator("#survey")).to_contain_text("4 / 5")
    expect(official.locator("#survey")).to_contain_text("안내한 일시")
    assert "빠르게 고쳐 주셔서" not in official.content()

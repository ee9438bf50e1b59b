"""The officials' console in a real browser: the overdue board, roles enforced on the server,
sign-in with CSRF and a signed HttpOnly session, routing rules with the preview, holidays."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import PASSWORD, System, days_ago, other_department, shot, sign_in


def csrf_of(page: Any) -> str:
    return page.locator("input[name=csrf]").first.get_attribute("value")


def test_team_lead_sees_a_breached_complaint_on_the_overdue_board(system: System, new_page: Any) -> None:
    # a letter that arrived 20 days ago, registered now by staff (within MINWON_RECEIVED_AT_MAX_AGE_DAYS,
    # with a reason anyway): an immediate (즉시) complaint, so its deadline is long past
    filed = system.file(
        channel="mail",
        received_at=days_ago(20),
        received_at_reason="우편 접수분 늦은 입력",
        kind="other",
        category="교통",
        title="불법주차 단속 요청",
        body="골목 불법주차로 통행이 어렵습니다.",
    )
    receipt_no = filed["receipt_no"]
    department = system.assignment(receipt_no)["department"]
    clock = system.clock(receipt_no, lambda c: "breached" in {s["name"] for s in c["signals"]["emitted"]})
    assert clock["overdue"] is True  # the deadline scanner emitted the breach

    lead = new_page()
    sign_in(lead, f"{department}-lead")
    lead.get_by_role("link", name="기한 경과·사전예고").click()
    row = lead.locator(f"#overdue tr[data-receipt='{receipt_no}']")
    expect(row).to_be_visible()
    expect(row).to_contain_text("기한 경과")
    assert re.match(r"^D\+\d+ / -\d+(\.\d)?h$", row.locator(".remaining").inner_text().strip())
    shot(lead, "console-board")

    # the department's queue shows it first (earliest due), flagged overdue
    lead.goto("/console/queue?mine=0")
    first = lead.locator("#queue tbody tr").first
    expect(first).to_have_attribute("data-receipt", receipt_no)
    expect(first).to_contain_text("기한 경과")


def test_a_handler_of_another_department_is_refused_and_never_shown_its_complaints(
    system: System, new_page: Any
) -> None:
    filed = system.file(
        title="가로등 고장", body="가로등이 꺼져 어둡습니다.", district="수영구", category="도로", priority=True
    )
    receipt_no = filed["receipt_no"]
    assignment = system.assignment(receipt_no)
    department, handler = assignment["department"], assignment["handler"]
    stranger_dept = other_department(department)

    stranger = new_page()
    sign_in(stranger, f"{stranger_dept}-01")
    response = stranger.goto(f"/console/complaints/{receipt_no}")
    assert response.status == 403
    expect(stranger.get_by_role("alert")).to_contain_text("권한이 없습니다")
    html = stranger.content()
    for secret in (handler["name"], "수영구", "가로등", assignment["rule_id"]):
        assert secret not in html, secret
    shot(stranger, "console-forbidden")

    # lists are read for the official's own department, whatever the URL asks
    for path in (f"/console/queue?mine=0&department={department}", f"/console/board?department={department}"):
        response = stranger.goto(path)
        assert response.status == 200
        assert receipt_no not in stranger.content(), path

    # and an action on it is refused on the server, CSRF token or not
    refused = stranger.request.post(
        f"/console/complaints/{receipt_no}/acknowledge", form={"csrf": csrf_of(stranger), "key": "x"}, max_redirects=0
    )
    assert refused.status == 403
    assert system.json("GET", f"/api/v1/complaints/{receipt_no}")["status"] == "received"

    # a colleague in the same department sees it but may not act on another handler's complaint
    colleague_id = next(h for h in (f"{department}-01", f"{department}-02") if h != handler["id"])
    colleague = new_page()
    sign_in(colleague, colleague_id)
    response = colleague.goto(f"/console/complaints/{receipt_no}")
    assert response.status == 200
    expect(colleague.locator("#actions")).to_contain_text("할 수 있는 처리가 없습니다")
    assert colleague.locator("#do-acknowledge").count() == 0
    complainant_ref = system.json("GET", f"/api/v1/complaints/{receipt_no}")["complainant_ref"]
    assert complainant_ref not in colleague.content()

    # the complaint office sees every department, and the pseudonym
    office = new_page()
    sign_in(office, "office")
    office.goto(f"/console/complaints/{receipt_no}")
    expect(office.locator("#facts")).to_contain_text(complainant_ref)
    assert office.locator("#do-acknowledge").count() == 1
    office.goto(f"/console/queue?mine=0&department={department}")
    expect(office.locator(f"#queue tr[data-receipt='{receipt_no}']")).to_contain_text("우선")  # priority flag


def test_sign_in_needs_the_password_and_a_csrf_token_and_keeps_a_signed_httponly_session(
    system: System, new_page: Any
) -> None:
    page = new_page()
    response = page.goto("/console/queue")
    expect(page).to_have_url(re.compile(r"/console/login\?next=%2Fconsole%2Fqueue"))
    assert response.status == 200

    page.get_by_label("직원 아이디").fill("road-01")
    page.get_by_label("비밀번호").fill("wrong-password")
    page.get_by_role("button", name="로그인").click()
    expect(page.get_by_role("alert")).to_contain_text("맞지 않거나")
    shot(page, "console-login")

    # no CSRF token: refused before the password is even checked
    no_token = page.request.post("/console/login", form={"staff_id": "road-01", "password": PASSWORD}, max_redirects=0)
    assert no_token.status == 403

    page.get_by_label("비밀번호").fill(PASSWORD)
    page.get_by_role("button", name="로그인").click()
    expect(page).to_have_url(re.compile(r"/console/queue$"))
    session = next(c for c in page.context.cookies() if c["name"] == "minwon_session")
    assert session["httpOnly"] is True and session["sameSite"] == "Lax"

    # a tampered session is no session
    value = session["value"]
    forged = value[:-4] + ("AAAA" if not value.endswith("AAAA") else "BBBB")
    other = new_page()
    other.context.add_cookies([{"name": "minwon_session", "value": forged, "url": system.url}])
    other.goto("/console/queue")
    expect(other).to_have_url(re.compile(r"/console/login"))

    page.get_by_role("button", name="로그아웃").click()
    expect(page).to_have_url(re.compile(r"/console/login$"))
    page.goto("/console/queue")
    expect(page).to_have_url(re.compile(r"/console/login"))

    # repeated failures lock the account for a while, even with the right password afterwards
    locked = new_page()
    for _ in range(5):
        locked.goto("/console/login")
        locked.get_by_label("직원 아이디").fill("parks-02")
        locked.get_by_label("비밀번호").fill("nope")
        locked.get_by_role("button", name="로그인").click()
        expect(locked.get_by_role("alert")).to_be_visible()
    locked.get_by_label("직원 아이디").fill("parks-02")
    locked.get_by_label("비밀번호").fill(PASSWORD)
    locked.get_by_role("button", name="로그인").click()
    expect(locked.get_by_role("alert")).to_be_visible()
    expect(locked).to_have_url(re.compile(r"/console/login$"))  # the right password did not sign in


def test_routing_rules_with_a_preview_and_holidays_managed_by_an_administrator(system: System, new_page: Any) -> None:
    office = new_page()
    sign_in(office, "office")
    office.get_by_role("link", name="배정 규칙").click()
    expect(office.locator("#rules tr[data-rule='road-damage']")).to_contain_text("도로관리과")
    office.locator("#pv-kind").select_option("other")
    office.locator("#pv-category").fill("기타")
    office.locator("#pv-district").fill("해운대구")
    office.locator("#pv-title").fill("집 앞 포트홀 신고")
    office.get_by_role("button", name="미리보기").click()
    expect(office.locator("#preview-department")).to_have_text("도로관리과")
    expect(office.locator("#preview-result")).to_contain_text("포트홀")
    shot(office, "console-rules")

    # a handler sees the holidays but may not add one
    handler = new_page()
    sign_in(handler, "road-02")
    handler.goto("/console/holidays")
    assert handler.locator("#hd-date").count() == 0
    refused = handler.request.post(
        "/console/holidays", form={"csrf": csrf_of(handler), "date": "2099-03-17", "name": "몰래 휴일"}, max_redirects=0
    )
    assert refused.status == 403

    admin = new_page()
    sign_in(admin, "admin")
    admin.get_by_role("link", name="공휴일").click()
    admin.get_by_label("날짜").fill("2099-03-17")
    admin.get_by_label("이름").fill("임시공휴일 (시험)")
    admin.get_by_role("button", name="공휴일 추가").click()
    expect(admin.locator("#holidays tr[data-date='2099-03-17']")).to_contain_text("임시공휴일 (시험)")
    expect(admin.locator("#holidays tr[data-date='2099-03-17']")).to_contain_text("admin")
    shot(admin, "console-holidays")
    listed = system.json("GET", "/api/v1/deadlines/calendar/holidays")["items"]
    assert any(h["date"] == "2099-03-17" and h["actor"] == "admin" for h in listed)
    assert not any(h["name"] == "몰래 휴일" for h in listed)

"""Officials handle a complaint end to end in a real browser (issue 13): a 120 agent registers a
phone complaint; the routed handler reads its full text and contact, drafts the answer from a
canned answer and sends it for approval; the team lead returns it once with a comment, then
approves; the citizen reads the answer and the handler's name on the portal. Also: a rejection's
reasons and remedy on the portal, oral complaints confirmed at the counter and on the portal, the
staff intake form's arrival time for mail, another department's handler refused, one audit entry
per view. Screens are saved to docs/screenshots/.

The built-in accounts sign in here (services/web/data/staff.json); ``test_answers_oidc.py`` drives
the main story through the real identity provider (Keycloak)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from playwright.sync_api import expect

from tests.browser.conftest import Mailbox, System, flat, other_department, shot, sign_in
from tests.browser.test_story import reload_until
from tests.e2e.harness import wait_for
from tests.factories import staff_headers

PRIVACY = staff_headers("privacy-01", department="audit", roles=("privacy_officer",), name="개인정보 담당")


# ----------------------------------------------------------------------------- steps a person takes


def register_by_phone(
    page: Any,
    *,
    title: str,
    body: str,
    channel: str = "phone",
    name: str = "김시민",
    phone: str = "010-2345-6789",
    email: str | None = "citizen@example.org",
    category: str = "도로",
    received_at: str | None = None,
    consents: tuple[str, ...] = ("sms",),
    screenshots: bool = False,
) -> tuple[str, str]:
    """A staff member registers a complaint for a citizen on the console's intake form."""
    page.get_by_role("link", name="민원 접수 (직원)").click()
    expect(page.get_by_role("heading", name=re.compile("민원 접수"))).to_be_visible()
    page.get_by_label("접수 경로").select_option(channel)
    if received_at:
        page.get_by_label("실제 도착 일시 (우편·팩스)").fill(received_at)
    page.get_by_label("성명").fill(name)
    page.get_by_label("전화번호").fill(phone)
    if email:
        page.locator("#email").fill(email)
    page.get_by_label("주소").fill("부산광역시 해운대구 우동 1")
    for consent in consents:
        page.locator(f"#consent_{consent}").check()
    page.get_by_label("민원 종류").select_option("grievance")
    page.get_by_label("분야").select_option(category)
    page.get_by_label("구·군").select_option("해운대구")
    page.get_by_label("제목").fill(title)
    page.locator("#body").fill(body)
    if screenshots:
        shot(page, "console-intake")
    page.get_by_role("button", name="민원 등록").click()
    receipt_no = page.locator("#receipt-no").inner_text().strip()
    code = page.locator("#check-code").inner_text().strip()
    assert re.fullmatch(r"\d{4}-[A-Z]+-\d{7}", receipt_no), receipt_no
    assert re.fullmatch(r"[2-9A-HJKMNP-Z]{10}", code), code
    return receipt_no, code


def add_template(page: Any, *, title: str, text: str, category: str = "도로") -> None:
    page.get_by_role("link", name="답변 서식").click()
    form = page.locator("#add-template")
    form.get_by_label("분야").select_option(category)
    form.get_by_label("서식 이름").fill(title)
    form.get_by_label("서식 내용").fill(text)
    form.get_by_role("button", name="서식 추가").click()
    expect(page.locator("#done")).to_contain_text("서식을 추가했습니다")
    expect(page.locator("#templates")).to_contain_text(title)


def open_complaint(page: Any, receipt_no: str) -> None:
    page.goto("/console/queue")
    page.get_by_label("접수번호로 찾기").fill(receipt_no)
    page.get_by_role("button", name="찾기").click()
    expect(page.locator("h1")).to_contain_text(receipt_no)


def look_up(page: Any, receipt_no: str, code: str) -> Any:
    page.goto("/lookup")
    page.get_by_label("접수번호").fill(receipt_no)
    page.get_by_label("확인 코드").fill(code)
    page.get_by_role("button", name="조회").click()
    result = page.locator("#lookup-result")
    expect(result).to_contain_text(receipt_no)
    return result


def audit_reads(system: System, receipt_no: str) -> list[dict[str, Any]]:
    r = httpx.get(
        f"{system.url}/api/v1/complaints/audit", params={"receipt_no": receipt_no}, headers=PRIVACY, timeout=15
    )
    assert r.status_code == 200, r.text
    return [x for x in r.json()["items"] if x["action"] == "read_personal_data"]


def closed(system: System, receipt_no: str) -> dict[str, Any]:
    return wait_for(
        lambda: (lambda v: v if v["status"] == "closed" else None)(
            system.json("GET", f"/api/v1/complaints/{receipt_no}")
        ),
        timeout=20,
    )


# ----------------------------------------------------------------------------- the stories


def answer_story(
    system: System,
    new_page: Any,
    sign_in_as: Callable[[Any, str], None],
    *,
    agent_id: str,
    lead_id: str,
    lead_name: str,
    mailbox: Mailbox | None = None,
    screenshots: bool = True,
) -> None:
    """The issue's story; ``sign_in_as(page, staff_id)`` signs a fresh page in (built-in accounts or the
    identity provider); with ``mailbox`` the e-mail and the letter PDF are read too."""
    tag = uuid.uuid4().hex[:6]
    snap: Callable[..., Any] = shot if screenshots else (lambda *_: None)
    body = f"우동 1번지 앞 보도블록이 깨져 어르신이 넘어질 뻔했습니다 ({tag})."

    # the 120 agent registers the citizen's phone call
    agent = new_page()
    sign_in_as(agent, agent_id)
    expect(agent).to_have_url(re.compile(r"/console/intake/new"))
    receipt_no, code = register_by_phone(
        agent, title=f"보도블록 파손 ({tag})", body=body, screenshots=screenshots, consents=("email", "post")
    )
    expect(agent.get_by_role("heading", name="민원을 등록했습니다")).to_be_visible()
    snap(agent, "console-intake-receipt")
    staff_view = system.json("GET", f"/api/v1/complaints/{receipt_no}")
    assert staff_view["channel"] == "phone" and staff_view["registered_by"]["id"] == agent_id
    assert agent.goto(f"/console/complaints/{receipt_no}").status == 403  # the call centre only registers

    assignment = system.assignment(receipt_no)
    department, handler_id = assignment["department"], assignment["handler"]["id"]
    assert department == "road"

    # the team lead keeps a canned answer for roads
    lead = new_page()
    sign_in_as(lead, lead_id)
    add_template(
        lead,
        title=f"도로 파손 처리 ({tag})",
        text="{민원인}님, 접수번호 {접수번호} 민원에 답변드립니다. 현장을 확인하고 보수하겠습니다. 담당자 {담당자}",
    )
    snap(lead, "console-templates")

    # the handler reads the full text and the contact: each view is one audit entry
    handler = new_page()
    sign_in_as(handler, handler_id)
    open_complaint(handler, receipt_no)
    expect(handler.locator("#complaint-body")).to_have_text(body)
    expect(handler.locator("#contact-name")).to_have_text("김시민")
    expect(handler.locator("#contact-phone")).to_have_text("010-2345-6789")
    expect(handler.locator("#contact-email")).to_have_text("citizen@example.org")
    expect(handler.locator("#contact-address")).to_contain_text("해운대구 우동 1")
    assert "표시되지 않습니다" not in handler.content()
    expect(handler.locator("#routing-reason")).to_contain_text("'보도블록' 포함")  # in Korean words, not routing's
    reads = audit_reads(system, receipt_no)
    assert [(x["actor_id"], x["purpose"]) for x in reads] == [(handler_id, "민원 처리")]
    handler.get_by_label("열람 목적").select_option("사실 확인 전화")
    handler.get_by_role("button", name="이 목적으로 다시 열람").click()
    expect(handler.locator("#purpose-note")).to_contain_text("사실 확인 전화")
    reads = audit_reads(system, receipt_no)
    assert [x["purpose"] for x in reads] == ["민원 처리", "사실 확인 전화"]

    # ... drafts the answer from the canned answer and sends it for approval
    handler.get_by_label("답변 서식").select_option(label=f"도로 파손 처리 ({tag})")
    handler.get_by_role("button", name="서식 불러오기").click()
    text = handler.locator("#answer-text")
    expect(text).to_have_value(re.compile(rf"^김시민님, 접수번호 {receipt_no} 민원에 답변드립니다"))
    expect(text).not_to_have_value(re.compile(r"\{(민원인|접수번호|담당자)\}"))
    handler.locator("#answer-outcome").select_option("accepted")
    text.fill(text.input_value() + " 보수는 이번 주 안에 마칩니다.")
    snap(handler, "console-answer-draft")
    handler.get_by_role("button", name="결재 요청").click()
    expect(handler.locator("#answer-state")).to_contain_text("결재 대기")
    expect(handler.locator("#answer-form")).to_have_count(0)  # nothing to edit while it waits

    # the team lead finds it in the approval queue and returns it with a comment
    lead.get_by_role("link", name="결재 대기").click()
    row = lead.locator(f"#approvals tr[data-receipt='{receipt_no}']")
    expect(row).to_be_visible()
    snap(lead, "console-approvals")
    row.get_by_role("link", name=receipt_no).click()
    expect(lead.locator("#answer-text-view")).to_contain_text("보수는 이번 주 안에 마칩니다")
    lead.get_by_label("결재 의견").fill("보수 예정일을 날짜로 적어 주세요.")
    snap(lead, "console-answer-review")
    lead.get_by_role("button", name="반려").click()
    expect(lead.locator("#answer-state")).to_contain_text("반려됨")

    # the handler sees the comment, corrects the answer and submits it again
    handler.reload()
    expect(handler.locator("#answer-returned")).to_contain_text("반려됨: 보수 예정일을 날짜로 적어 주세요.")
    expect(handler.locator("#reviews")).to_contain_text(lead_name)
    snap(handler, "console-answer-returned")
    text = handler.locator("#answer-text")
    final = text.input_value().replace("이번 주 안에", "12월 4일까지")
    text.fill(final)
    handler.get_by_role("button", name="결재 요청").click()
    expect(handler.locator("#answer-state")).to_contain_text("결재 대기")

    # the team lead approves: the complaint closes with the answer
    lead.goto(f"/console/complaints/{receipt_no}")
    lead.get_by_role("button", name=re.compile("^승인")).click()
    expect(lead.locator("#answer-state")).to_contain_text("승인됨")
    closed(system, receipt_no)
    lead.reload()
    expect(lead.locator("h1 .badge")).to_have_text("처리 완료")
    expect(lead.locator("#reviews li")).to_have_count(2)
    snap(lead, "console-answer-approved")

    # the citizen reads the answer and the responsible official on the portal
    citizen = new_page()
    result = look_up(citizen, receipt_no, code)
    expect(result.locator("#answer-text")).to_have_text(final)
    expect(result.locator("#answer-outcome")).to_have_text("수용")
    expect(result.locator("#handler-name")).to_have_text(assignment["handler"]["name"])
    expect(result.locator("#handler-department")).not_to_be_empty()
    expect(result.locator("#answer-reasons")).to_have_count(0)
    snap(citizen, "portal-lookup-answer")
    if mailbox is None:
        return

    # the e-mail and the letter (its PDF's text extracted) carry the same answer and the official
    handler_name = assignment["handler"]["name"]
    mails = wait_for(lambda: mailbox.mails("citizen@example.org", final) or None, timeout=30)
    assert len(mails) == 1 and handler_name in mails[0], mails
    letters = wait_for(lambda: mailbox.letters(final) or None, timeout=30)
    assert len(letters) == 1 and flat(handler_name) in flat(letters[0]), letters
    assert flat(receipt_no) in flat(letters[0]) and receipt_no in mails[0]

    # the notice's link opens the lookup with the receipt number filled in; the citizen adds the code
    link = re.search(r"https?://\S+/lookup\?receipt_no=\S+", mails[0])
    assert link, mails[0]
    citizen.goto("/lookup?" + link.group(0).split("?", 1)[1])
    expect(citizen.get_by_label("접수번호")).to_have_value(receipt_no)


def test_a_phone_complaint_is_answered_with_approval_and_the_citizen_reads_the_answer(
    system: System, new_page: Any, mailbox: Mailbox
) -> None:
    answer_story(
        system,
        new_page,
        sign_in,
        agent_id="callcentre",
        lead_id="road-lead",
        lead_name="도로관리과 팀장",
        mailbox=mailbox,
    )


def test_a_rejection_shows_its_reasons_and_remedy_on_the_portal(system: System, new_page: Any) -> None:
    filed = system.file(title="가로수 제거 요청", body="집 앞 가로수를 베어 주세요.", category="도로")
    receipt_no, code = filed["receipt_no"], filed["check_code"]
    assignment = system.assignment(receipt_no)

    handler = new_page()
    sign_in(handler, assignment["handler"]["id"])
    handler.goto(f"/console/complaints/{receipt_no}")
    handler.locator("#answer-outcome").select_option("rejected")
    handler.locator("#answer-text").fill("요청하신 가로수는 보호수로 지정되어 제거할 수 없습니다.")
    handler.get_by_role("button", name="결재 요청").click()  # no reasons, no remedy: refused, text kept
    alert = handler.get_by_role("alert")
    expect(alert).to_contain_text("입력한 내용을 확인해 주세요")
    expect(alert).to_contain_text(re.compile("결과 사유|불복 절차 안내"))  # the field to fix, in Korean words
    assert not re.search(r"[A-Za-z]{4,}", alert.inner_text()), alert.inner_text()
    expect(handler.locator("#answer-text")).to_have_value("요청하신 가로수는 보호수로 지정되어 제거할 수 없습니다.")
    handler.locator("#answer-reasons").fill("도시림 보호 조례 제5조에 따른 보호수입니다.")
    handler.locator("#answer-remedy").fill("90일 안에 행정심판을 청구할 수 있습니다.")
    handler.get_by_role("button", name="결재 요청").click()
    expect(handler.locator("#answer-state")).to_contain_text("결재 대기")

    lead = new_page()
    sign_in(lead, f"{assignment['department']}-lead")
    lead.goto(f"/console/complaints/{receipt_no}")
    lead.get_by_role("button", name=re.compile("^승인")).click()
    expect(lead.locator("#answer-state")).to_contain_text("승인됨")
    closed(system, receipt_no)

    result = look_up(new_page(), receipt_no, code)
    expect(result.locator("#answer-outcome")).to_have_text("불수용")
    expect(result.locator("#answer-reasons")).to_have_text("도시림 보호 조례 제5조에 따른 보호수입니다.")
    expect(result.locator("#answer-remedy")).to_have_text("90일 안에 행정심판을 청구할 수 있습니다.")
    expect(result.locator("#answer-text")).to_contain_text("보호수로 지정되어")


def test_an_oral_complaint_is_read_back_and_confirmed_by_the_citizen(system: System, new_page: Any) -> None:
    counter = new_page()
    sign_in(counter, "callcentre")
    body = f"동네 놀이터 그네 사슬이 끊어졌습니다 ({uuid.uuid4().hex[:6]})."
    receipt_no, _ = register_by_phone(counter, channel="oral", title="놀이터 그네 고장", body=body, category="공원")
    expect(counter.get_by_role("heading", name="민원인 확인 (구술 민원)")).to_be_visible()
    expect(counter.locator("#readback-body")).to_have_text(body)
    assert system.json("GET", f"/api/v1/complaints/{receipt_no}")["status"] == "draft"
    shot(counter, "console-oral-readback")
    counter.get_by_role("button", name="민원인 확인").click()
    expect(counter.locator("#confirmed")).to_contain_text("접수되었습니다")
    assert system.json("GET", f"/api/v1/complaints/{receipt_no}")["status"] == "received"

    # another one the citizen confirms later on the portal with the check code
    counter.get_by_role("link", name="다른 민원 등록").click()
    later, code = register_by_phone(counter, channel="oral", title="가로등 점멸", body="가로등이 깜빡입니다.")
    citizen = new_page()
    result = look_up(citizen, later, code)
    expect(result.locator("#oral-confirm")).to_be_visible()
    citizen.get_by_role("button", name=re.compile("민원인 확인")).click()
    expect(citizen.locator("#confirmed")).to_be_visible()
    expect(citizen.locator("#lookup-result .badge").first).to_have_text("접수")
    assert system.json("GET", f"/api/v1/complaints/{later}")["status"] == "received"


def test_mail_needs_its_arrival_time_and_keeps_it(system: System, new_page: Any) -> None:
    clerk = new_page()
    sign_in(clerk, "callcentre")
    clerk.get_by_role("link", name="민원 접수 (직원)").click()
    clerk.get_by_label("접수 경로").select_option("mail")
    expect(clerk.get_by_label("실제 도착 일시 (우편·팩스)")).to_be_visible()
    clerk.get_by_label("접수 경로").select_option("phone")
    expect(clerk.get_by_label("실제 도착 일시 (우편·팩스)")).to_be_hidden()

    # without the arrival time the letter is not registered
    register = clerk.get_by_role("button", name="민원 등록")
    clerk.evaluate("document.getElementById('received_at').required = false")  # as a browser without JS
    clerk.get_by_label("접수 경로").select_option("fax")
    clerk.evaluate("document.getElementById('received_at').required = false")
    clerk.get_by_label("성명").fill("김시민")
    clerk.get_by_label("전화번호").fill("010-2345-6789")
    clerk.get_by_label("제목").fill("팩스 민원")
    clerk.locator("#body").fill("팩스로 보낸 민원입니다.")
    register.click()
    expect(clerk.get_by_role("alert")).to_contain_text("실제 도착 일시가 필요합니다")
    expect(clerk.get_by_label("제목")).to_have_value("팩스 민원")

    receipt_no, _ = register_by_phone(
        clerk,
        channel="mail",
        title="불법 주정차",
        body="매일 밤 불법 주정차가 있습니다.",
        category="교통",
        received_at="2026-11-27T10:30",
    )
    view = system.json("GET", f"/api/v1/complaints/{receipt_no}")
    assert view["channel"] == "mail"
    assert datetime.fromisoformat(view["received_at"]) == datetime(2026, 11, 27, 1, 30, tzinfo=UTC)  # 10:30 KST


def test_another_departments_handler_is_refused_and_a_confidential_identity_is_withheld(
    system: System, new_page: Any
) -> None:
    filed = system.file(
        title="공익신고", body="공사 현장에서 폐기물을 몰래 묻고 있습니다.", category="도로", whistleblower=True
    )
    receipt_no = filed["receipt_no"]
    assignment = system.assignment(receipt_no)
    stranger = new_page()
    sign_in(stranger, f"{other_department(assignment['department'])}-01")
    assert stranger.goto(f"/console/complaints/{receipt_no}").status == 403
    assert "폐기물" not in stranger.content() and "김시민" not in stranger.content()

    handler = new_page()
    sign_in(handler, assignment["handler"]["id"])
    handler.goto(f"/console/complaints/{receipt_no}")
    expect(handler.locator("#identity-hidden")).to_have_text("신원 비공개 (민원실만 열람)")
    assert "김시민" not in handler.content()
    assert audit_reads(system, receipt_no) == []

    office = new_page()
    sign_in(office, "office")
    office.goto(f"/console/complaints/{receipt_no}")
    expect(office.locator("#contact-name")).to_have_text("김시민")
    assert [x["actor_id"] for x in audit_reads(system, receipt_no)] == ["office"]


def test_a_handler_reports_a_revisit_and_withdraws_at_the_citizens_request(system: System, new_page: Any) -> None:
    receipt_no = system.file(title="주차 위반 과태료 문의", body="과태료 고지서를 두 번 받았습니다.", category="도로")[
        "receipt_no"
    ]
    assignment = system.assignment(receipt_no)
    handler = new_page()
    sign_in(handler, assignment["handler"]["id"])
    handler.goto(f"/console/complaints/{receipt_no}")
    handler.locator("summary", has_text="재방문 보고").click()
    handler.get_by_label("직원 실수 내용").fill("서류 안내를 잘못하여 다시 방문하셨습니다.")
    handler.locator("#do-revisits").click()
    expect(handler.locator("#done")).to_contain_text("재방문 보고")
    handler.locator("summary", has_text="민원인 요청으로 취하").click()
    handler.once("dialog", lambda dialog: dialog.accept())
    handler.locator("#do-withdraw").click()
    expect(handler.locator("h1 .badge")).to_have_text("취하")
    steps = [s["step"] for s in system.json("GET", f"/api/v1/complaints/{receipt_no}")["timeline"]]
    assert "revisit_reported" in steps and steps[-1] == "withdrawn"


def test_the_team_lead_reassigns_a_complaint_to_a_colleague(system: System, new_page: Any) -> None:
    receipt_no = system.file(title="인도 위 적치물", body="인도에 공사 자재가 쌓여 있습니다.", category="도로")[
        "receipt_no"
    ]
    assignment = system.assignment(receipt_no)
    department, first = assignment["department"], assignment["handler"]["id"]
    lead = new_page()
    sign_in(lead, f"{department}-lead")
    lead.goto(f"/console/complaints/{receipt_no}")
    lead.locator("summary", has_text="재배정").click()
    target = lead.get_by_label("재배정할 곳")
    other = target.locator(f"option[value^='{department}|']:not([disabled])").first.get_attribute("value")
    target.select_option(other)
    lead.get_by_label("재배정 사유 구분").select_option("workload")
    lead.get_by_label("재배정 사유 (내부 기록)").fill("업무량이 몰려 옆 담당자에게 넘깁니다.")
    lead.locator("#do-reassign").click()
    expect(lead.locator("#done")).to_contain_text("재배정")
    moved = wait_for(
        lambda: (lambda a: a if a["handler"]["id"] != first else None)(
            system.json("GET", f"/api/v1/routing/assignments/{receipt_no}")
        ),
        timeout=20,
    )
    assert moved["handler"]["id"] == other.split("|")[1]


def test_a_transfer_names_the_receiving_agency_from_the_list_and_notifies_the_citizen(
    system: System, new_page: Any
) -> None:
    filed = system.file(title="고속도로 소음", body="고속도로 방음벽이 낮아 소음이 심합니다.", category="도로")
    receipt_no, code = filed["receipt_no"], filed["check_code"]
    assignment = system.assignment(receipt_no)
    handler = new_page()
    sign_in(handler, assignment["handler"]["id"])
    handler.goto(f"/console/complaints/{receipt_no}")
    handler.locator("summary", has_text="다른 기관으로 이송").click()
    agency = handler.get_by_label("이송할 기관")
    assert agency.evaluate("el => el.tagName") == "SELECT"
    agency.select_option("국토교통부")
    handler.locator("#tr-reason").fill("고속도로 방음벽은 국토교통부 소관입니다.")
    handler.once("dialog", lambda dialog: dialog.accept())
    handler.locator("#do-transfer").click()
    expect(handler.locator("h1 .badge")).to_have_text("이송")
    # the citizen is notified (SMS: the consent given)
    reload_until(handler, "section[aria-labelledby=notes-h]", "이송 안내")
    shot(handler, "console-transferred")
    result = look_up(new_page(), receipt_no, code)
    expect(result.locator(".badge").first).to_have_text("이송")


def test_a_team_lead_edits_and_deletes_a_canned_answer_and_a_handler_may_not(system: System, new_page: Any) -> None:
    title = f"교통 안내 ({uuid.uuid4().hex[:6]})"
    lead = new_page()
    sign_in(lead, "traffic-lead")
    add_template(lead, title=title, text="{민원인}님, 문의하신 내용을 안내드립니다.", category="교통")
    item = lead.locator("#templates li", has_text=title)
    item.locator("summary", has_text="수정하기").click()
    item.get_by_label("서식 내용").fill("{민원인}님, 문의하신 교통 민원을 안내드립니다. 담당 {담당자} ({연락처})")
    item.get_by_role("button", name="저장").click()
    expect(lead.locator("#done")).to_contain_text("서식을 저장했습니다")
    expect(lead.locator("#templates li", has_text=title)).to_contain_text("교통 민원을 안내드립니다")
    lead.get_by_label("분야").first.select_option("교통")
    lead.get_by_role("button", name="보기").click()
    expect(lead.locator("#templates")).to_contain_text(title)
    lead.once("dialog", lambda dialog: dialog.accept())
    lead.get_by_role("button", name=f"삭제: {title}").click()
    expect(lead.locator("#done")).to_contain_text("서식을 삭제했습니다")
    assert title not in lead.content()

    handler = new_page()
    sign_in(handler, "traffic-01")
    assert handler.goto("/console/templates").status == 403
    assert handler.get_by_role("link", name="답변 서식").count() == 0


def test_the_complaint_office_sets_which_departments_answers_need_approval(system: System, new_page: Any) -> None:
    office = new_page()
    sign_in(office, "office")
    office.get_by_role("link", name="결재 대기").click()
    row = office.locator("#policies tr[data-department='waste']")
    expect(row).to_contain_text("결재 필요")
    row.get_by_role("button", name=re.compile("결재 없음으로 바꾸기")).click()
    expect(office.locator("#policies")).to_contain_text("설정을 바꿨습니다")
    expect(office.locator("#policies tr[data-department='waste']")).to_contain_text("결재 없음")
    assert system.json("GET", "/api/v1/complaints/answer-policies")["departments"]["waste"] is False
    shot(office, "console-approval-policies")
    office.locator("#policies tr[data-department='waste']").get_by_role("button").click()
    assert system.json("GET", "/api/v1/complaints/answer-policies")["departments"]["waste"] is True

    lead = new_page()
    sign_in(lead, "waste-lead")
    lead.goto("/console/approvals")
    expect(lead.locator("#policies")).to_have_count(0)  # the team lead sees the queue, not the settings


def test_the_queue_filters_by_status_due_date_and_overdue(system: System, new_page: Any) -> None:
    # 환경: a department no other test expects first in its queue (test_console's overdue letter is 교통)
    late = system.file(
        channel="mail",
        received_at=(datetime.now(UTC) - timedelta(days=20)).isoformat(),
        received_at_reason="우편 늦은 입력",
        kind="other",
        category="환경",
        title="오래된 우편",
        body="오래전에 도착한 우편 민원입니다.",
    )["receipt_no"]
    fresh = system.file(category="환경", title="새 민원", body="오늘 들어온 민원입니다.")["receipt_no"]
    department = system.assignment(late)["department"]
    assert system.assignment(fresh)["department"] == department
    system.clock(late, lambda c: c.get("overdue"))
    system.clock(fresh, lambda c: c.get("due_at"))
    lead = new_page()
    sign_in(lead, f"{department}-lead")
    lead.goto("/console/queue?mine=0")
    rows = lead.locator("#queue tbody tr")
    expect(lead.locator(f"#queue tr[data-receipt='{fresh}']")).to_be_visible()
    lead.get_by_label("기한 경과만").check()
    lead.get_by_role("button", name="보기").last.click()
    expect(lead.locator(f"#queue tr[data-receipt='{late}']")).to_be_visible()
    expect(lead.locator(f"#queue tr[data-receipt='{fresh}']")).to_have_count(0)
    for i in range(rows.count()):
        expect(rows.nth(i)).to_contain_text("기한 경과")
    lead.get_by_label("기한 경과만").uncheck()
    lead.get_by_label("처리기한이 이날까지인 것만").fill((datetime.now(UTC) + timedelta(hours=9)).date().isoformat())
    lead.get_by_role("button", name="보기").last.click()
    expect(lead.locator(f"#queue tr[data-receipt='{late}']")).to_be_visible()
    expect(lead.locator(f"#queue tr[data-receipt='{fresh}']")).to_have_count(0)  # due in days, not today
    lead.get_by_label("처리기한이 이날까지인 것만").fill("")
    lead.get_by_label("상태").select_option("in_progress")
    lead.get_by_role("button", name="보기").last.click()
    expect(lead.get_by_label("상태")).to_have_value("in_progress")  # the queue page again, its filter kept
    expect(lead.locator(f"#queue tr[data-receipt='{fresh}']")).to_have_count(0)  # still 접수, not 처리 중


def test_the_filing_forms_offer_the_statutory_type_catalogue(system: System, new_page: Any) -> None:
    page = new_page()
    page.goto("/complaints/new")
    options = page.locator("#statutory-types option")
    assert options.count() > 5
    names = [options.nth(i).get_attribute("value") for i in range(options.count())]
    assert "주민등록표 등본 발급" in names
    assert page.get_by_label(re.compile("법정민원 유형")).get_attribute("list") == "statutory-types"
    sign_in(page, "callcentre")
    page.goto("/console/intake/new")
    assert page.locator("#statutory-types option").count() == len(names)

"""Each trigger's Korean text: versioned templates, the handler and contact in every citizen notice."""

from __future__ import annotations

from datetime import timedelta

import pytest

from minwon import contracts as c
from services.notification import domain
from services.notification.rendering import Renderer, kdate, kdatetime, period_label, won
from tests.unit.notification.factories import HANDLER, NOW, assigned, event, receipt_no

RENDERER = Renderer()
POLICY = domain.Policy()
CONTACT = {
    "name": "홍길동",
    "phone": "010-2345-6789",
    "email": "hong@example.kr",
    "address": "부산광역시 해운대구 우동 1",
}
HANDLER_STATE = {**HANDLER, "department": "도로과"}


def render(e, *, state=None, part=None, template=None, channel=None, policy=POLICY):
    state = {"handler": HANDLER_STATE, "due_at": "2026-11-27T09:00:00+00:00", **(state or {})}
    state = domain.note(state, e) or state
    drafts = domain.plan(e, state)
    draft = next(d for d in drafts if template is None or d.template == template)
    record = draft.to_doc(NOW)
    variables = domain.render_vars(
        record, state, contact=CONTACT, part=part, org_name="부산광역시", policy=policy, channel=channel
    )
    return record, RENDERER.render(record["template"], record["template_version"], variables)


def test_receipt_confirmation() -> None:
    r = receipt_no()
    record, (subject, text) = render(assigned(r))
    assert record["template"] == domain.RECEIPT and record["template_version"] == 1
    assert subject == "민원 접수 안내"
    assert "홍길동 님" in text and f"접수번호: {r}" in text
    assert "처리 예정일: 2026년 11월 27일(금) 18:00" in text
    assert "담당: 도로과 김담당 (연락처 051-888-1234)" in text


def test_receipt_confirmation_without_a_due_date_says_nothing_about_it() -> None:
    _, (_, text) = render(assigned(receipt_no()), state={"due_at": None})
    assert "처리 예정일" not in text


def test_supplementation_request_carries_the_sealed_reason_and_due() -> None:
    due = (NOW + timedelta(days=5)).isoformat()
    e = event(c.COMPLAINT_SUPPLEMENTATION_REQUESTED, receipt_no(), {"supplement_due": due})
    _, (_, text) = render(e, part={"reason": "현장 사진을 첨부해 주십시오"})
    assert "보완 사항: 현장 사진을 첨부해 주십시오" in text
    assert "보완 기한: 2026년 11월 23일(월) 10:00" in text
    assert "김담당" in text and "051-888-1234" in text


def test_extension_notice_has_the_reason_period_and_new_due_date_once_known() -> None:
    e = event(c.COMPLAINT_EXTENDED, receipt_no(), {"period": "7d", "extension_no": 1})
    _, (subject, text) = render(e, part={"reason": "관계기관 협의 필요"})
    assert subject == "민원 처리기간 연장 통지"
    assert "연장 사유: 관계기관 협의 필요" in text and "연장 기간: 7일" in text
    assert "처리완료 예정일" not in text  # the deadline service has not announced the new due date yet
    later = (NOW + timedelta(minutes=1)).isoformat()
    _, (_, text) = render(
        e, part={"reason": "관계기관 협의 필요"}, state={"due_at": "2026-12-04T09:00:00+00:00", "due_noted_at": later}
    )
    assert "처리완료 예정일: 2026년 12월 4일(금) 18:00" in text


def test_progress_notice_has_the_expected_completion_date() -> None:
    # the complaint's current due date (deadline.set/updated as notification last heard it), not the
    # one the signal carried when it fired
    e = event(c.DEADLINE_PROGRESS_DUE, receipt_no(), {"due_at": "2026-12-11T09:00:00+00:00"})
    record, (_, text) = render(e, state={"due_at": "2026-12-18T09:00:00+00:00"})
    assert record["template_version"] == 2
    assert "처리완료 예정일: 2026년 12월 18일(금) 18:00" in text and "김담당" in text
    assert "기한 경과" not in text


def test_rejection_result_has_reasons_and_the_remedy_procedure() -> None:
    e = event(c.COMPLAINT_CLOSED, receipt_no(), {"outcome": "rejected"})
    part = {"reasons": "도로법 제61조에 따라 허가할 수 없습니다", "remedy": "이의신청(60일 이내) 또는 행정심판"}
    record, (subject, text) = render(e, part=part)
    assert record["legal"] and subject == "민원 처리결과 통지"
    assert "처리결과: 불수용" in text and "사유: 도로법 제61조에 따라 허가할 수 없습니다" in text
    assert "불복 절차: 이의신청(60일 이내) 또는 행정심판" in text
    _, (title, letter) = render(e, part=part, template=domain.RESULT_LETTER)
    assert title == "민원 처리결과 통지서"
    assert "1. 처리결과: 불수용" in letter and "2. 사유: 도로법" in letter
    assert "3. 불복 절차: 이 처분에 이의가" in letter
    assert "이의신청(60일 이내) 또는 행정심판" in letter


def test_a_rejection_without_a_stated_remedy_names_the_statutory_one() -> None:
    e = event(c.COMPLAINT_CLOSED, receipt_no(), {"outcome": "rejected"})
    _, (_, text) = render(e, part={"reasons": "요건 미충족", "remedy": None})
    assert f"불복 절차: {domain.REMEDY_DEFAULT}" in text


ANSWER = {
    "outcome": "accepted",
    "text": "보도블록을 교체했습니다.\n불편을 드려 죄송합니다.",
    "reasons": None,
    "remedy": None,
    "answered_at": "2026-11-20T01:00:00+00:00",
    "handler": {"name": "이답변", "department": "ROAD2", "department_name": "도로관리과", "contact": "051-888-7777"},
}


@pytest.mark.parametrize("channel", [domain.EMAIL, domain.POST])
def test_the_result_by_email_and_letter_carries_the_full_answer_and_its_official(channel) -> None:
    r = receipt_no()
    e = event(c.COMPLAINT_CLOSED, r, {"outcome": "accepted"})
    template = domain.RESULT_LETTER if channel == domain.POST else domain.RESULT
    record, (_, text) = render(e, part=ANSWER, template=template, channel=channel)
    assert record["template_version"] == 2
    assert ANSWER["text"] in text and "수용" in text
    # 민원책임실명제: the official who answered, with department and contact (not the assignment's)
    assert "도로관리과 이답변 (연락처 051-888-7777)" in text and "김담당" not in text
    assert f"http://127.0.0.1:8000/lookup?receipt_no={r}" in text


@pytest.mark.parametrize("channel", [domain.SMS, domain.LMS, domain.ALIMTALK])
def test_the_result_by_sms_or_alimtalk_is_short_with_an_absolute_link(channel) -> None:
    r = receipt_no()
    e = event(c.COMPLAINT_CLOSED, r, {"outcome": "rejected"})
    part = {
        **ANSWER,
        "outcome": "rejected",
        "reasons": "예산 부족으로 올해 시행이 어렵습니다",
        "remedy": "이의신청(60일 이내)",
    }
    policy = domain.Policy(public_base_url="https://minwon.busan.example/")
    _, (_, text) = render(e, part=part, channel=channel, policy=policy)
    lines = text.splitlines()
    assert "처리결과: 불수용" in lines and "답변 전문은 아래 링크에서 확인하세요" in lines
    assert f"https://minwon.busan.example/lookup?receipt_no={r}" in lines
    assert ANSWER["text"] not in text and part["reasons"] not in text
    assert "이답변" in text and "051-888-7777" in text


def test_a_rejection_by_email_and_letter_carries_the_text_reasons_and_remedy() -> None:
    e = event(c.COMPLAINT_CLOSED, receipt_no(), {"outcome": "rejected"})
    part = {
        **ANSWER,
        "outcome": "rejected",
        "text": "검토 결과 설치가 어렵습니다.",
        "reasons": "보행자 통행 폭 기준 미달",
        "remedy": "이의신청 또는 행정심판",
    }
    _, (_, mail) = render(e, part=part, channel=domain.EMAIL)
    assert "검토 결과 설치가 어렵습니다." in mail and "사유: 보행자 통행 폭 기준 미달" in mail
    assert "불복 절차: 이의신청 또는 행정심판" in mail
    _, (_, letter) = render(e, part=part, template=domain.RESULT_LETTER, channel=domain.POST)
    assert "2. 답변 내용\n검토 결과 설치가 어렵습니다." in letter
    assert "3. 사유: 보행자 통행 폭 기준 미달" in letter and "4. 불복 절차: 이 처분에 이의가" in letter


def test_links_are_joined_to_the_base_with_one_slash() -> None:
    for base in ("https://minwon.busan.example", "https://minwon.busan.example/", " https://minwon.busan.example// "):
        assert domain.absolute_url(base, "/survey/t1") == "https://minwon.busan.example/survey/t1"
        assert domain.absolute_url(base, "survey/t1") == "https://minwon.busan.example/survey/t1"
        assert domain.lookup_url(base, "2026-A-0001") == "https://minwon.busan.example/lookup?receipt_no=2026-A-0001"
    assert domain.absolute_url("https://a.example", "https://b.example/s/1") == "https://b.example/s/1"
    assert domain.absolute_url("http://127.0.0.1:8000", "/x") == "http://127.0.0.1:8000/x"
    assert (
        domain.lookup_url("http://h", "2026 A/1", "/portal/lookup") == "http://h/portal/lookup?receipt_no=2026%20A%2F1"
    )


def test_a_transfer_names_the_agency_and_reason_and_waits_for_no_handler() -> None:
    r = receipt_no()
    e = event(c.COMPLAINT_TRANSFERRED, r, {"agency": "MOLIT"})
    part = {"reason": "국도 관리는 국토교통부 소관입니다", "agency_name": "국토교통부"}
    record, (subject, text) = render(e, part=part)
    assert record["legal"] and subject == "민원 이송 통지"
    assert "국토교통부 소관 사항이어서 해당 기관으로 이송" in text and "이송 사유: 국도 관리는" in text
    assert "김담당" in text  # the handler, once one was assigned
    # before any assignment: the notice waits only for the contact and the reason, and names the office
    assert domain.missing(record, {"contact": "n1:x"}) == ["part:transferred"]
    variables = domain.render_vars(
        record, {}, contact=CONTACT, part={"reason": "소관 아님"}, org_name="부산광역시", policy=POLICY
    )
    text = RENDERER.render(domain.TRANSFERRED, 1, variables)[1]
    assert "다른 기관 소관" not in text and "MOLIT 소관" in text and "문의: 부산광역시 민원실 (연락처 120)" in text


def test_accepted_result_has_no_remedy() -> None:
    _, (_, text) = render(event(c.COMPLAINT_CLOSED, receipt_no(), {"outcome": "accepted"}))
    assert "처리결과: 수용" in text and "불복" not in text and "사유" not in text


def test_survey_invitation_and_compensation() -> None:
    _, (_, text) = render(event(c.SURVEY_INVITED, receipt_no(), {"link": "https://m.example/s/tok123"}))
    assert "https://m.example/s/tok123" in text and "만족도 조사" in text
    # the survey service's link is a path on the portal: the notice makes it absolute
    policy = domain.Policy(public_base_url="https://minwon.busan.example/")
    _, (_, text) = render(event(c.SURVEY_INVITED, receipt_no(), {"link": "/survey/tok456"}), policy=policy)
    assert "https://minwon.busan.example/survey/tok456" in text.splitlines()
    e = event(
        c.COMPENSATION_GRANTED,
        receipt_no(),
        {"voucher_code": "CV-7788-1122", "amount_krw": 10000, "cause": "deadline_breach"},
    )
    _, (_, text) = render(e)
    assert "문화상품권 10,000원" in text and "CV-7788-1122" in text and "기간 안에 처리하지 못해" in text
    revisit = event(
        c.COMPENSATION_GRANTED, receipt_no(), {"voucher_code": "CV-1", "amount_krw": 10000, "cause": "staff_revisit"}
    )
    assert "다시 방문하시게 하여" in render(revisit)[1][1]


def test_staff_messages() -> None:
    r = receipt_no()
    _, (_, text) = render(assigned(r), template=domain.STAFF_ASSIGNED)
    assert f"접수번호 {r} 민원이 도로과 김담당 님에게 배정" in text
    # the complaint's due date when the warning is sent (the same as the signal's, unless it moved since)
    _, (_, text) = render(
        event(c.DEADLINE_WARNING, r, {"due_at": "2026-11-20T09:00:00+00:00"}),
        state={"due_at": "2026-11-20T09:00:00+00:00"},
    )
    assert "[사전예고]" in text and "2026년 11월 20일(금) 18:00" in text and "수신: 담당자" in text
    e = event(c.DEADLINE_ESCALATED, r, {"level": 2, "recipients": ["team_lead"]})
    _, (_, text) = render(e)
    assert "[독촉 2단계]" in text and "수신: 팀장" in text


CITIZEN_TRIGGERS = [
    (assigned, {}),
    (lambda r: assigned(r, type=c.COMPLAINT_REASSIGNED), {}),
    (lambda r: event(c.COMPLAINT_SUPPLEMENTATION_REQUESTED, r, {"supplement_due": None}), {"reason": "사진"}),
    (lambda r: event(c.COMPLAINT_EXTENDED, r, {"period": "7d"}), {"reason": "협의"}),
    (lambda r: event(c.DEADLINE_PROGRESS_DUE, r, {}), None),
    (
        lambda r: event(c.COMPLAINT_TRANSFERRED, r, {"agency": "MOLIT"}),
        {"reason": "국토부 소관", "agency_name": "국토교통부"},
    ),
    (lambda r: event(c.COMPLAINT_CLOSED, r, {"outcome": "partly_accepted"}), {"reasons": "일부", "remedy": "이의"}),
    (lambda r: event(c.SURVEY_INVITED, r, {"link": "https://x"}), None),
    (lambda r: event(c.COMPENSATION_GRANTED, r, {"voucher_code": "V", "amount_krw": 10000}), None),
]


@pytest.mark.parametrize(("make", "part"), CITIZEN_TRIGGERS)
def test_every_citizen_notice_names_the_handler_and_contact(make, part) -> None:
    e = make(receipt_no())
    state = domain.note({"handler": HANDLER_STATE}, e) or {"handler": HANDLER_STATE}
    for draft in domain.plan(e, state):
        if draft.role != "citizen":
            continue
        _, (_, text) = render(e, part=part, template=draft.template)
        assert "김담당" in text and "051-888-1234" in text, draft.template


def test_a_handler_without_a_contact_is_named_with_the_office_contact() -> None:
    e = assigned(receipt_no(), {"id": "h-9", "name": "박담당"})
    _, (_, text) = render(e)
    assert "박담당 (연락처 120)" in text


def test_every_template_has_its_versioned_file() -> None:
    for template in domain.TEMPLATES.values():
        assert template.version in RENDERER.versions(template.id), template.id


def test_filters() -> None:
    assert kdate("2026-11-20T20:00:00+00:00") == "2026년 11월 21일(토)"  # 05:00 the next day in Seoul
    assert kdatetime("2026-11-20T09:00:00+00:00") == "2026년 11월 20일(금) 18:00"
    assert kdatetime("2026-11-20") == "2026년 11월 20일(금)" and kdatetime(None) == ""
    assert won(10000) == "10,000원" and period_label("16h") == "16근무시간" and period_label("보름") == "보름"

"""The console's rules for answers, personal data and staff intake, without a browser (pure)."""

from __future__ import annotations

import re

from services.web import access, console, i18n, staff_intake
from services.web.access import Staff


def staff(role: str, department: str | None = None, id: str = "x-01") -> Staff:
    return Staff(id=id, name="이름", role=role, department=department)


def complaint(**kw: object) -> dict[str, object]:
    return {"status": "in_progress", "department": "road", "handler": {"id": "road-01"}, **kw}


def test_who_drafts_who_approves_and_who_registers() -> None:
    handler, colleague = staff("handler", "road", "road-01"), staff("handler", "road", "road-02")
    lead, other_lead = staff("team_lead", "road", "road-lead"), staff("team_lead", "traffic", "traffic-lead")
    office, admin, agent = staff("complaint_office"), staff("admin"), staff("call_centre")
    assert access.may_draft_answer(handler, complaint()) and not access.may_draft_answer(colleague, complaint())
    assert not access.may_draft_answer(handler, complaint(status="closed"))
    assert access.may_review_answer(lead, complaint()) and access.may_review_answer(office, complaint())
    assert not access.may_review_answer(other_lead, complaint()) and not access.may_review_answer(handler, complaint())
    assert not access.may_review_answer(admin, complaint())
    assert access.may_review(lead) and not access.may_review(handler) and not access.may_review(agent)
    assert access.may_manage_templates(office) and not access.may_manage_templates(handler)
    assert access.may_register(agent) and access.may_register(handler) and not access.may_register(admin)
    assert not access.may_view(agent, "road") and not access.may_work_complaints(agent)


def test_personal_data_is_for_the_department_and_a_confidential_identity_for_the_office_only() -> None:
    handler, lead, office = staff("handler", "road", "road-01"), staff("team_lead", "road"), staff("complaint_office")
    assert access.may_read_personal(handler, confidential=False) and access.may_read_personal(lead, confidential=False)
    assert not access.may_read_personal(handler, confidential=True)
    assert not access.may_read_personal(lead, confidential=True)
    assert access.may_read_personal(office, confidential=True)
    assert not access.may_read_personal(staff("admin"), confidential=False)
    assert not access.may_read_personal(staff("call_centre"), confidential=False)


def test_forms_become_the_answer_and_the_staff_filing() -> None:
    assert console.answer_body(
        {"outcome": "rejected", "text": " 답변 ", "reasons": "", "remedy": "심판", "template_id": ""}
    ) == {"outcome": "rejected", "text": "답변", "reasons": None, "remedy": "심판", "template_id": None}
    filed = staff_intake.staff_filing(
        {
            "channel": "mail",
            "name": "김",
            "phone": "",
            "received_at": "2026-11-27T10:30",
            "title": "t",
            "body": "b",
            "kind": "other",
            "category": "도로",
            "district": "중구",
            "consent_post": "on",
        }
    )
    assert filed["channel"] == "mail" and filed["phone"] is None
    assert filed["received_at"] == "2026-11-27T10:30:00+09:00"
    assert filed["consent"] == {"sms": False, "alimtalk": False, "email": False, "post": True}
    assert staff_intake.staff_filing({"channel": "phone", "received_at": ""})["received_at"] is None


def test_periods_and_exclusions_are_in_korean_words() -> None:
    assert i18n.period("ko", "immediate") == "즉시" and i18n.period("ko", "14d") == "14일"
    assert i18n.period("ko", "3h") == "3시간" and i18n.period("en", "2w") == "2 weeks"
    assert i18n.breach_reason("ko", "immediate") == "즉시 처리 민원 (보상 제외)"
    assert i18n.breach_reason("ko", "kind:petition") == "보상 제외 민원 종류: 진정"
    assert i18n.label("ko", "breach", "excluded") == "보상 제외"
    assert i18n.label("ko", "answer_state", "returned") == "반려됨"
    assert i18n.label("ko", "answer_state", "submitted") == "결재 대기"


def test_korean_words_of_the_new_screens_carry_no_english() -> None:
    prefixes = ("answer.", "approvals.", "templates.", "intake.", "personal.", "portal.", "breach.", "period.")
    latin = re.compile(r"[A-Za-z]{3,}")
    for key, text in i18n.STRINGS["ko"].items():
        if key.startswith(prefixes):
            assert not latin.search(text.replace("SMS", "")), (key, text)
    for group in ("answer_state", "breach", "step", "status", "role", "condition", "reassign"):
        for code, text in i18n.LABELS[group]["ko"].items():
            assert not latin.search(text), (group, code, text)
    for role in access.ROLES:  # every console role has a Korean name
        assert i18n.label("ko", "role", role) != role


def test_a_services_refusal_is_told_in_korean_words() -> None:
    from services.web.api import ApiError

    assert i18n.field_name("ko", "body.reasons") == "결과 사유"
    assert i18n.field_name("ko", "consent.sms") == "안내 받을 방법"
    assert i18n.field_name("en", "remedy") == "remedy"
    assert i18n.api_error("ko", ApiError(409, "approval_required", "needs approval", [])).startswith("이 부서의 답변은")
    assert i18n.api_error("ko", ApiError(409, "something_new", "x", [])) == i18n.t("ko", "apierror.other")

"""Answers with approval (답변, 결재), pure: states and transitions, the close they lead to, the
citizen's view, template placeholders."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from minwon import contracts
from minwon.errors import Conflict, DomainError, Invalid
from services.intake import domain
from services.intake.domain import AnswerDraft, Complaint, Filing, Identity

NOW = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)  # 10:00 KST
SRC = "/test/intake"
HANDLER = {"id": "road-01", "name": "임성훈", "department": "road", "roles": ["handler"]}
LEAD = {"id": "road-lead", "name": "박팀장", "department": "road", "roles": ["team_lead"]}
TEXT = {"text": "가로등을 수리하였습니다.", "reasons": None, "remedy": None}


def complaint(**changes) -> Complaint:
    filing = Filing(
        identity=Identity(name="김민원", phone="010-1111-2222"),
        title="가로등",
        body="꺼짐",
        kind="other",
        category="road",
        district="수영구",
        channel="online",
    )
    new, _ = domain.register(
        filing,
        receipt_no="2026-BUSAN-0000007",
        code="ABC123",
        complainant_ref="p-1",
        sealed="k1:xx",
        received_at=NOW,
        now=NOW,
        source=SRC,
    )
    return replace(new, **{"department": "road", **changes})


def drafted(c: Complaint | None = None, draft: AnswerDraft | None = None) -> Complaint:
    new, events = domain.draft_answer(
        c or complaint(), draft or AnswerDraft("accepted", TEXT["text"]), sealed="k1:sealed", now=NOW, by=HANDLER
    )
    assert events == []
    return new


def submitted(c: Complaint | None = None) -> Complaint:
    new, events = domain.submit_answer(
        c or drafted(), approval_required=True, opened=TEXT, now=NOW, source=SRC, by=HANDLER
    )
    assert events == []
    return new


def test_a_draft_keeps_only_the_seal_of_its_text_and_names_its_writer() -> None:
    c = drafted()
    assert c.answer_state == "draft" and c.answer["sealed"] == "k1:sealed"
    assert TEXT["text"] not in str(c.to_doc())
    assert c.answer["drafted_by"] == {"id": "road-01", "name": "임성훈"}
    assert c.timeline[-1].step == "answer_drafted" and c.status == "received"
    assert Complaint.from_doc(c.to_doc()) == c


@pytest.mark.parametrize(
    ("draft", "field"),
    [
        (AnswerDraft("maybe", "x"), "outcome"),
        (AnswerDraft("accepted", "   "), "text"),
        (AnswerDraft("accepted", "가" * (domain.MAX_ANSWER_TEXT + 1)), "text"),
        (AnswerDraft("rejected", "불가합니다", reasons=" ", remedy="행정심판"), "reasons"),
        (AnswerDraft("rejected", "불가합니다", reasons="법령상 불가", remedy=None), "remedy"),
    ],
)
def test_a_bad_draft_is_refused_naming_the_field(draft: AnswerDraft, field: str) -> None:
    with pytest.raises(Invalid) as err:
        domain.draft_answer(complaint(), draft, sealed="s", now=NOW, by=HANDLER)
    assert err.value.field == field and err.value.status == 422


def test_submit_return_redraft_approve_closes_with_the_answer_and_its_sealed_part() -> None:
    c = submitted()
    assert c.answer_state == "submitted" and c.answer["submitted_at"] == NOW.isoformat()
    with pytest.raises(Conflict):  # with the team lead: no rewriting
        drafted(c)
    later = NOW + timedelta(hours=1)
    returned, events = domain.return_answer(c, comment="근거 법령을 적어 주세요", now=later, by=LEAD)
    assert events == [] and returned.answer_state == "returned" and returned.status == "received"
    assert returned.timeline[-1].step == "answer_returned"
    assert returned.timeline[-1].detail == {"comment": "근거 법령을 적어 주세요"}
    assert returned.answer["reviews"] == [
        {
            "at": later.isoformat(),
            "by": {"id": "road-lead", "name": "박팀장"},
            "decision": "returned",
            "comment": "근거 법령을 적어 주세요",
        }
    ]
    again = submitted(drafted(returned))
    assert len(again.answer["reviews"]) == 1  # a redraft keeps the review history
    assigned = replace(
        again, handler={"id": "road-01", "name": "임성훈", "contact": "051-000-2061"}, department_name="도로관리과"
    )
    closed, events = domain.approve_answer(assigned, comment="좋습니다", opened=TEXT, now=later, source=SRC, by=LEAD)
    assert closed.status == "closed" and closed.outcome == "accepted" and closed.answer_state == "approved"
    assert [s.step for s in closed.timeline[-2:]] == ["answer_approved", "closed"]
    assert [r["decision"] for r in closed.answer["reviews"]] == ["returned", "approved"]
    public, private = events
    assert public.type == contracts.COMPLAINT_CLOSED
    assert "text" not in public.data and TEXT["text"] not in str(public.data)
    assert private.type == contracts.COMPLAINT_SEALED and private.data["part"] == "answer"
    assert private.data["content"] == {
        "outcome": "accepted",
        "text": TEXT["text"],
        "reasons": None,
        "remedy": None,
        "answered_at": later.isoformat(),
        "handler": {"name": "임성훈", "department": "road", "department_name": "도로관리과", "contact": "051-000-2061"},
    }


def test_only_a_submitted_answer_is_returned_or_approved() -> None:
    for c in (complaint(), drafted()):
        with pytest.raises(Conflict):
            domain.return_answer(c, comment="x", now=NOW, by=LEAD)
        with pytest.raises(Conflict):
            domain.approve_answer(c, comment=None, opened=TEXT, now=NOW, source=SRC, by=LEAD)
    with pytest.raises(Conflict):
        domain.submit_answer(complaint(), approval_required=True, opened={}, now=NOW, source=SRC, by=HANDLER)


@pytest.mark.parametrize("comment", ["", "   ", "가" * (domain.MAX_COMMENT + 1)])
def test_a_return_needs_a_comment(comment: str) -> None:
    with pytest.raises(Invalid) as err:
        domain.return_answer(submitted(), comment=comment, now=NOW, by=LEAD)
    assert err.value.field == "comment"


def test_no_answer_is_written_for_a_complaint_that_is_not_open_for_it() -> None:
    for status in ("awaiting_supplement", "closed", "withdrawn", "transferred", "draft"):
        with pytest.raises(Conflict):
            drafted(complaint(status=status))


def test_without_a_required_approval_submitting_closes_at_once() -> None:
    rejected = AnswerDraft("rejected", "불가합니다", reasons="법령상 불가", remedy="행정심판 청구 (90일 이내)")
    c = drafted(draft=rejected)
    opened = rejected.private
    closed, events = domain.submit_answer(c, approval_required=False, opened=opened, now=NOW, source=SRC, by=HANDLER)
    assert closed.status == "closed" and closed.outcome == "rejected"
    assert [s.step for s in closed.timeline[-3:]] == ["answer_submitted", "answer_approved", "closed"]
    assert closed.timeline[-2].detail == {"approval_required": False} and closed.answer["reviews"] == []
    parts = [e.data["part"] for e in events if e.type == contracts.COMPLAINT_SEALED]
    assert parts == ["closed", "answer"]  # the close's reasons and remedy, as before, and the answer
    answer = events[-1].data["content"]
    assert (answer["reasons"], answer["remedy"]) == ("법령상 불가", "행정심판 청구 (90일 이내)")


def test_close_is_refused_where_approval_is_required_and_records_the_answer_where_not() -> None:
    draft = AnswerDraft("accepted", "처리하였습니다")
    with pytest.raises(DomainError) as err:
        domain.close_directly(
            complaint(), approval_required=True, draft=draft, sealed="s", now=NOW, source=SRC, by=HANDLER
        )
    assert (err.value.status, err.value.code) == (409, "approval_required")
    closed, events = domain.close_directly(
        complaint(), approval_required=False, draft=draft, sealed="s", now=NOW, source=SRC, by=HANDLER
    )
    assert closed.status == "closed" and closed.answer_state == "approved" and closed.answer["sealed"] == "s"
    assert events[-1].data["content"]["text"] == "처리하였습니다"
    assert events[-1].data["content"]["handler"]["name"] == "임성훈"  # no assignment: the writer
    with pytest.raises(Invalid) as bad:
        domain.close_directly(
            complaint(),
            approval_required=False,
            draft=AnswerDraft("rejected", "", "이유", None),
            sealed="s",
            now=NOW,
            source=SRC,
            by=HANDLER,
        )
    assert bad.value.field == "remedy"
    # without a text: still an answer part, so the result notice never waits for ever
    _, events = domain.close_directly(
        complaint(),
        approval_required=False,
        draft=AnswerDraft("accepted", ""),
        sealed="s",
        now=NOW,
        source=SRC,
        by=HANDLER,
    )
    assert events[-1].data["part"] == "answer" and events[-1].data["content"]["text"] is None


def test_the_citizen_timeline_leaves_out_the_approval_steps() -> None:
    c = domain.return_answer(submitted(), comment="내부 검토 의견", now=NOW, by=LEAD)[0]
    view = domain.public_view(c)
    assert [s["step"] for s in view["timeline"]] == ["received"]
    assert "내부 검토 의견" not in str(view)


def test_the_policy_of_a_department_overrides_the_default() -> None:
    policies = {"road": False, "parks": True}
    assert domain.approval_required(policies, "road", default=True) is False
    assert domain.approval_required(policies, "parks", default=False) is True
    assert domain.approval_required(policies, "traffic", default=True) is True
    assert domain.approval_required(policies, None, default=False) is False


def test_templates_fill_the_known_placeholders_in_korean_dates() -> None:
    c = replace(
        complaint(),
        due_at="2026-11-27T09:00:00+00:00",
        department_name="도로관리과",
        handler={"id": "road-01", "name": "임성훈", "contact": "051-000-2061"},
    )
    values = domain.template_values(c, name="김민원", today=datetime(2026, 11, 30, 16, 0, tzinfo=UTC))
    text = (
        "{민원인}님, 접수번호 {접수번호}({접수일}) 건은 {처리기한}까지 {담당부서} {담당자}({연락처})가 "
        "처리합니다. {오늘} {미정}"
    )
    assert domain.fill_template(text, values) == (
        "김민원님, 접수번호 2026-BUSAN-0000007(2026년 11월 20일) 건은 2026년 11월 27일까지 도로관리과 "
        "임성훈(051-000-2061)가 처리합니다. 2026년 12월 1일 {미정}"
    )
    # a value not known yet leaves its placeholder for the handler to fill
    bare = domain.template_values(complaint(), name="김민원", today=NOW, drafter={"name": "최담당"})
    assert domain.fill_template("{처리기한} {연락처} {담당자}", bare) == "{처리기한} {연락처} 최담당"


@pytest.mark.parametrize("field", ["category", "title", "text"])
def test_a_template_needs_each_part(field: str) -> None:
    parts = {"category": "road", "title": "수리 완료", "text": "{민원인}님"}
    with pytest.raises(Invalid) as err:
        domain.check_template(**{**parts, field: "  "})
    assert err.value.field == field


def test_assignment_brings_the_department_name_and_a_move_forgets_the_old_one() -> None:
    c = domain.note_routed(complaint(department=None), department="road", department_name="도로관리과", at="t")
    assert c.department_name == "도로관리과"
    moved = domain.note_assigned(c, handler={"id": "p-1", "name": "공원", "contact": "1"}, department="parks", at="t")
    assert moved.department == "parks" and moved.department_name is None
    assert domain.accountable(moved)["department_name"] == "parks"  # unknown name: the code


def test_a_transfer_seals_the_agency_name_with_its_reason_when_known() -> None:
    _, events = domain.transfer(
        complaint(), agency="molit", agency_name="국토교통부", reason="소관 아님", now=NOW, source=SRC
    )
    assert events[-1].data["content"] == {"reason": "소관 아님", "agency_name": "국토교통부"}
    assert "국토교통부" not in str(events[0].data)
    _, events = domain.transfer(complaint(), agency="molit", reason="소관 아님", now=NOW, source=SRC)
    assert events[-1].data["content"] == {"reason": "소관 아님"}

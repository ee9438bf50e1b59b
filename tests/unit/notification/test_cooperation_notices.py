"""Staff notices of cooperation requests (협조 요청): to the department asked, its team lead when overdue,
and the lead handler when the reply comes; never the question or the reply's text."""

from __future__ import annotations

from minwon import contracts as c
from services.notification import domain
from services.notification.rendering import Renderer
from tests.unit.notification.factories import HANDLER, NOW, event, receipt_no

RENDERER = Renderer()
STATE = {"handler": {**HANDLER, "department": "road"}, "department": "도로과", "due_at": "2026-11-27T09:00:00+00:00"}
REQUEST = {
    "request_id": "r1",
    "department": "parks",
    "from_department": "road",
    "working_days": 3,
    "due_at": "2026-12-03T10:00:00+09:00",
}


def notices(type: str, data: dict) -> list[tuple[dict, str, str]]:
    e = event(type, receipt_no(), {**REQUEST, **data})
    out = []
    for draft in domain.plan(e, STATE):
        record = draft.to_doc(NOW)
        variables = domain.render_vars(
            record, STATE, contact=None, part=None, org_name="부산광역시", policy=domain.Policy()
        )
        _, text = RENDERER.render(record["template"], record["template_version"], variables)
        out.append((record, domain.recipient_address(domain.STAFF_MESSAGE, None, record, STATE), text))
    return out


def test_the_department_asked_is_told_of_the_request() -> None:
    ((record, to, text),) = notices(c.COMPLAINT_COOPERATION_REQUESTED, {})
    assert record["template"] == domain.STAFF_COOPERATION_REQUESTED and record["audience"] == domain.STAFF
    assert to == "cooperating_department@parks"
    assert "협조 요청" in text and "3근무일" in text and "협조부서 담당자" in text


def test_the_warning_goes_to_the_department_asked_and_the_overdue_to_its_team_lead() -> None:
    ((warning, to, text),) = notices(c.DEADLINE_COOPERATION_WARNING, {"recipients": ["cooperating_department"]})
    assert warning["template"] == domain.STAFF_COOPERATION_WARNING and to == "cooperating_department@parks"
    assert "회신기한: 2026년 12월 3일" in text
    ((overdue, to, text),) = notices(c.DEADLINE_COOPERATION_OVERDUE, {"recipients": ["team_lead"]})
    assert overdue["template"] == domain.STAFF_COOPERATION_OVERDUE and overdue["urgent"] is True
    assert to == "team_lead@parks" and "팀장" in text and "독촉" in text


def test_the_lead_handler_is_told_that_the_reply_came() -> None:
    ((record, to, text),) = notices(c.COMPLAINT_COOPERATION_REPLIED, {})
    assert record["template"] == domain.STAFF_COOPERATION_REPLIED
    assert to == HANDLER["id"]
    assert "parks" in text and "회신" in text


def test_one_notice_per_cause_and_role() -> None:
    e = event(c.DEADLINE_COOPERATION_OVERDUE, receipt_no(), {**REQUEST, "recipients": ["team_lead"]})
    assert [d.id for d in domain.plan(e, STATE)] == [d.id for d in domain.plan(e, STATE)]

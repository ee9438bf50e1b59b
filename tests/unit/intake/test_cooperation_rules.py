"""Cooperating departments (협조부서) in intake's rules: who may ask, who replies, what goes on the topic."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from minwon import contracts as c
from minwon.errors import Conflict, DomainError, Invalid
from services.intake import domain
from tests.unit.intake.test_domain import SRC, registered

NOW = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
LEAD = {"id": "h-1", "name": "김담당", "department": "road"}
ASKED = {"id": "h-2", "name": "이협조", "department": "parks"}


def routed() -> domain.Complaint:
    return replace(registered(), department="road", department_name="도로과")


def asked(
    complaint: domain.Complaint | None = None,
    *,
    request_id: str = "r1",
    department: str = "parks",
    days: int | None = None,
) -> tuple[domain.Complaint, list]:
    return domain.request_cooperation(
        complaint or routed(),
        request_id=request_id,
        department=department,
        working_days=days,
        question="가로수 관리 주체 확인 바랍니다",
        sealed="k1:question",
        now=NOW,
        source=SRC,
        by=LEAD,
    )


def test_a_request_gets_the_default_days_and_a_pii_free_event() -> None:
    complaint, events = asked()
    (entry,) = complaint.cooperations
    assert entry["working_days"] == domain.COOPERATION_DEFAULT_DAYS == 3
    assert entry["state"] == "open" and entry["from_department"] == "road" and entry["requested_by"]["id"] == "h-1"
    (event,) = events
    assert event.type == c.COMPLAINT_COOPERATION_REQUESTED
    assert event.data["request_id"] == "r1" and event.data["department"] == "parks"
    text = json.dumps(event.data, ensure_ascii=False)
    assert "가로수" not in text and "k1:question" not in text and "김민원" not in text
    # the citizen's view never shows it
    assert "cooperation" not in json.dumps(domain.public_view(complaint))


def test_the_same_request_decided_twice_has_the_same_event_id() -> None:
    _, first = asked()
    _, again = asked()
    assert first[0].id == again[0].id
    _, other = asked(request_id="r2")
    assert other[0].id != first[0].id


@pytest.mark.parametrize(
    ("department", "days", "field"),
    [
        ("road", None, "department"),
        ("  ", None, "department"),
        ("parks", 0, "working_days"),
        ("parks", domain.COOPERATION_MAX_DAYS + 1, "working_days"),
    ],
)
def test_a_request_names_another_department_and_sensible_days(department: str, days: int | None, field: str) -> None:
    with pytest.raises(Invalid) as caught:
        asked(department=department, days=days)
    assert caught.value.field == field


def test_an_unrouted_or_closed_complaint_asks_nobody_and_one_open_request_per_department() -> None:
    with pytest.raises(Conflict):
        asked(registered())
    with pytest.raises(Conflict):
        asked(replace(routed(), status=domain.CLOSED))
    once, _ = asked()
    with pytest.raises(Conflict):
        asked(once, request_id="r2")
    twice, _ = asked(once, request_id="r2", department="water")
    assert [e["department"] for e in twice.cooperations] == ["parks", "water"]


def test_only_the_department_asked_replies_and_only_once() -> None:
    complaint, _ = asked()
    with pytest.raises(DomainError) as caught:
        domain.reply_cooperation(
            complaint, request_id="r1", department="water", text="답", sealed="k1:r", now=NOW, source=SRC, by=ASKED
        )
    assert caught.value.status == 403
    with pytest.raises(Invalid):
        domain.reply_cooperation(
            complaint, request_id="r1", department="parks", text=" ", sealed="k1:r", now=NOW, source=SRC, by=ASKED
        )
    later = NOW + timedelta(hours=3)
    replied, events = domain.reply_cooperation(
        complaint,
        request_id="r1",
        department="parks",
        text="공원과 소관",
        sealed="k1:reply",
        now=later,
        source=SRC,
        by=ASKED,
    )
    (entry,) = replied.cooperations
    assert entry["state"] == "replied" and entry["reply_sealed"] == "k1:reply" and entry["replied_by"]["id"] == "h-2"
    assert events[0].type == c.COMPLAINT_COOPERATION_REPLIED and "공원과" not in json.dumps(events[0].data)
    with pytest.raises(Conflict):
        domain.reply_cooperation(
            replied, request_id="r1", department="parks", text="또", sealed="k1:x", now=later, source=SRC, by=ASKED
        )
    with pytest.raises(Conflict):
        domain.cancel_cooperation(replied, request_id="r1", now=later, source=SRC, by=LEAD)


def test_a_cancelled_request_takes_no_reply_and_an_unknown_one_is_404() -> None:
    complaint, _ = asked()
    cancelled, events = domain.cancel_cooperation(complaint, request_id="r1", now=NOW, source=SRC, by=LEAD)
    assert cancelled.cooperations[0]["state"] == "cancelled"
    assert events[0].type == c.COMPLAINT_COOPERATION_CANCELLED
    with pytest.raises(Conflict):
        domain.reply_cooperation(
            cancelled, request_id="r1", department="parks", text="답", sealed="k1:r", now=NOW, source=SRC, by=ASKED
        )
    with pytest.raises(DomainError) as caught:
        domain.cancel_cooperation(complaint, request_id="nope", now=NOW, source=SRC, by=LEAD)
    assert caught.value.status == 404


def test_the_department_asked_may_read_while_the_request_is_open() -> None:
    complaint, _ = asked()
    assert domain.may_read_as_cooperating(complaint, "parks")
    assert not domain.may_read_as_cooperating(complaint, "water")
    assert not domain.may_read_as_cooperating(complaint, None)
    closed = replace(complaint, status=domain.CLOSED)
    assert not domain.may_read_as_cooperating(closed, "parks")
    with pytest.raises(Conflict):  # a closed complaint's request is moot
        domain.reply_cooperation(
            closed, request_id="r1", department="parks", text="답", sealed="k1:r", now=NOW, source=SRC, by=ASKED
        )
    replied, _ = domain.reply_cooperation(
        complaint, request_id="r1", department="parks", text="답", sealed="k1:r", now=NOW, source=SRC, by=ASKED
    )
    assert not domain.may_read_as_cooperating(replied, "parks")


def test_each_department_sees_its_own_requests_the_lead_sees_all() -> None:
    one, _ = asked()
    two, _ = asked(one, request_id="r2", department="water")
    assert [e["id"] for e in domain.visible_cooperations(two, "parks", every=False)] == ["r1"]
    assert [e["id"] for e in domain.visible_cooperations(two, "road", every=True)] == ["r1", "r2"]


def test_the_clock_announced_is_noted_on_its_request() -> None:
    complaint, _ = asked()
    due = (NOW + timedelta(days=3)).isoformat()
    noted = domain.note_cooperation_clock(complaint, request_id="r1", due_at=due, warning_at=NOW.isoformat())
    assert noted.cooperations[0]["due_at"] == due and noted.cooperations[0]["overdue"] is False
    overdue = domain.note_cooperation_clock(noted, request_id="r1", overdue=True)
    assert overdue.cooperations[0]["overdue"] is True and overdue.cooperations[0]["due_at"] == due
    assert domain.note_cooperation_clock(noted, request_id="other", overdue=True) == noted


def test_the_texts_are_resealed_on_key_rotation() -> None:
    complaint, _ = asked()
    doc = complaint.to_doc()
    assert domain.needs_reseal(doc, stale=lambda v: v == "k1:question")
    new = domain.resealed(doc, stale=lambda v: v == "k1:question", again=lambda v: "k2:" + v)
    assert new is not None and new["cooperations"][0]["question_sealed"] == "k2:k1:question"
    assert domain.Complaint.from_doc(doc).cooperations == complaint.cooperations

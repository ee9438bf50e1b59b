"""Notices render at send time from the complaint's current facts, or are dropped as superseded;
the progress notice's due date is the current one and says 기한 경과 once it has passed; quiet hours
treat a holiday added at run time as a non-working day (issue 14)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from minwon import contracts as c
from minwon.workcal import WorkCalendar
from services.notification import domain
from services.notification.rendering import Renderer
from tests.unit.notification.factories import HANDLER, NOW, assigned, event, receipt_no

RENDERER = Renderer()
POLICY = domain.Policy()
SEOUL = ZoneInfo("Asia/Seoul")
CONTACT = {
    "name": "홍길동",
    "phone": "010-2345-6789",
    "email": "hong@example.kr",
    "address": "부산광역시 해운대구 우동 1",
}
NEW_HANDLER = {"id": "h-202", "name": "이새담", "contact": "051-888-2222"}


def _state(*events, start=None):
    state = dict(start or {})
    for e in events:
        state = domain.note(state, e) or state
    return state


def _text(record, state, now):
    variables = domain.render_vars(
        record, state, contact=CONTACT, part=None, org_name="부산광역시", policy=POLICY, channel=domain.SMS, now=now
    )
    return RENDERER.render(record["template"], record["template_version"], variables)[1]


def _receipt(r):
    first = assigned(r)
    state = _state(event(c.COMPLAINT_RECEIVED, r), first)
    (draft, _) = domain.plan(first, state)
    assert draft.template == domain.RECEIPT
    return draft.to_doc(NOW), state


def test_a_held_receipt_names_the_handler_of_the_complaint_when_it_is_sent() -> None:
    r = receipt_no()
    record, state = _receipt(r)
    state = _state(assigned(r, NEW_HANDLER, at=NOW + timedelta(hours=2), type=c.COMPLAINT_REASSIGNED), start=state)
    text = _text(record, state, NOW + timedelta(hours=12))
    assert NEW_HANDLER["name"] in text and NEW_HANDLER["contact"] in text
    assert HANDLER["name"] not in text and HANDLER["contact"] not in text
    assert domain.superseded(record, state) is None  # still open: sent, with the new handler


def test_a_held_receipt_names_the_current_due_date() -> None:
    r = receipt_no()
    record, state = _receipt(r)
    state = _state(
        event(c.DEADLINE_SET, r, {"due_at": "2026-11-27T09:00:00+00:00"}),
        event(c.DEADLINE_UPDATED, r, {"due_at": "2026-12-04T09:00:00+00:00"}),
        start=state,
    )
    text = _text(record, state, NOW)
    assert "2026년 12월 4일(금) 18:00" in text and "11월 27일" not in text


@pytest.mark.parametrize(
    ("type", "reason"),
    [(c.COMPLAINT_CLOSED, "closed"), (c.COMPLAINT_WITHDRAWN, "withdrawn"), (c.COMPLAINT_TRANSFERRED, "transferred")],
)
def test_notices_about_a_complaint_in_progress_are_superseded_when_it_ends(type, reason) -> None:
    r = receipt_no()
    record, state = _receipt(r)
    ended = _state(event(type, r, {"outcome": "accepted"}, at=NOW + timedelta(hours=3)), start=state)
    assert domain.superseded(record, ended) == reason
    for template in (
        domain.REASSIGNED,
        domain.PROGRESS,
        domain.SUPPLEMENTATION,
        domain.STAFF_ASSIGNED,
        domain.STAFF_WARNING,
        domain.STAFF_ESCALATED,
    ):
        assert domain.superseded({**record, "template": template}, ended) == reason, template
    # legally required notices, and those that follow the end, still go
    for template in (
        domain.EXTENSION,
        domain.TRANSFERRED,
        domain.RESULT,
        domain.RESULT_LETTER,
        domain.SURVEY,
        domain.COMPENSATION,
    ):
        assert domain.superseded({**record, "template": template}, ended) is None, template
    # one already sent stays as it was
    assert domain.superseded({**record, "status": domain.SENT}, ended) is None


def test_an_older_progress_notice_is_superseded_by_a_newer_one_of_its_kind_only() -> None:
    r = receipt_no()
    first = event(c.DEADLINE_PROGRESS_DUE, r, {"due_at": "2026-12-18T09:00:00+00:00"}, id="p-1")
    second = event(c.DEADLINE_PROGRESS_DUE, r, {"due_at": "2026-12-18T09:00:00+00:00"}, id="p-2")
    (old,) = domain.plan(first, {})
    (new,) = domain.plan(second, {})
    state = {"latest": domain.newest([old])}
    assert domain.superseded(old.to_doc(NOW), state) is None
    state = {"latest": {**state["latest"], **domain.newest([new])}}
    assert domain.superseded(old.to_doc(NOW), state) == "newer_notice"
    assert domain.superseded(new.to_doc(NOW), state) is None
    # a receipt is not a kind that keeps only the newest
    assert domain.newest(domain.plan(assigned(r), {"first_assigned": assigned(r).id})[:1]) == {}


def test_superseded_record_is_final_and_never_due() -> None:
    record, _ = _receipt(receipt_no())
    done = domain.superseded_record({**record, "status": domain.DEFERRED}, "closed", NOW)
    assert done["status"] == domain.SUPERSEDED and done["superseded_reason"] == "closed"
    assert done["next_attempt_at"] is None and not domain.attemptable(done, NOW + timedelta(days=1))
    assert domain.SUPERSEDED in domain.FINAL and domain.SUPERSEDED not in domain.DUE


def _progress(due_signal: str, state_due: str | None):
    r = receipt_no()
    e = event(c.DEADLINE_PROGRESS_DUE, r, {"expected_completion": due_signal, "due_at": due_signal})
    (draft,) = domain.plan(e, {})
    state = {"handler": {**HANDLER, "department": "도로과"}}
    if state_due is not None:
        state["due_at"] = state_due
    return draft.to_doc(NOW), state


def test_progress_notice_promises_the_current_due_date_while_it_is_ahead() -> None:
    record, state = _progress("2026-11-17T09:00:00+00:00", "2026-12-18T09:00:00+00:00")  # extended since
    text = _text(record, state, NOW)
    assert "처리완료 예정일: 2026년 12월 18일(금) 18:00" in text and "기한 경과" not in text


def test_progress_notice_says_overdue_instead_of_promising_a_past_date() -> None:
    record, state = _progress("2026-11-17T09:00:00+00:00", "2026-11-17T09:00:00+00:00")
    text = _text(record, state, NOW)  # NOW is 2026-11-18
    assert "기한 경과" in text and "2026년 11월 17일(화) 18:00" in text
    assert "처리완료 예정일" not in text
    # without a due date of its own, notification uses the signal's, and judges it the same way
    record, state = _progress("2026-11-17T09:00:00+00:00", None)
    assert "기한 경과" in _text(record, state, NOW)


@pytest.mark.parametrize(
    ("due", "now", "past"),
    [
        ("2026-11-17T09:00:00+00:00", NOW, True),
        ("2026-11-18T01:00:00+00:00", NOW, True),  # due exactly now
        ("2026-11-18T09:00:00+00:00", NOW, False),
        ("2026-11-18", NOW, False),  # a bare date lasts until the end of that day in Seoul
        ("2026-11-17", NOW, True),
        (None, NOW, False),
        ("2026-11-17T09:00:00+00:00", None, False),
    ],
)
def test_is_past(due, now, past) -> None:
    assert domain.is_past(due, now) is past


def test_a_holiday_added_at_run_time_holds_quiet_channels_until_the_next_working_day() -> None:
    plain = {"legal": False, "urgent": False}
    thursday_10 = datetime(2026, 11, 19, 10, tzinfo=SEOUL)
    cal = WorkCalendar()
    assert domain.quiet_until(domain.SMS, plain, thursday_10, cal, POLICY) is None
    added = cal.with_holidays([date(2026, 11, 19)])
    assert domain.quiet_until(domain.SMS, plain, thursday_10, added, POLICY) == datetime(2026, 11, 20, 8, tzinfo=SEOUL)
    # Wednesday night, deferred to Thursday: now to Friday 08:00
    assert domain.quiet_until(
        domain.ALIMTALK, plain, datetime(2026, 11, 18, 22, tzinfo=SEOUL), added, POLICY
    ) == datetime(2026, 11, 20, 8, tzinfo=SEOUL)
    assert domain.quiet_until(domain.EMAIL, plain, thursday_10, added, POLICY) is None

"""Which notices each event causes, with deterministic ids; the facts kept per complaint."""

from __future__ import annotations

from datetime import timedelta

import pytest

from minwon import contracts as c
from services.notification import domain
from tests.unit.notification.factories import HANDLER, NOW, assigned, event, receipt_no, received, sealed


def _state(*events, sealed_blob="n1:x"):
    state = None
    for e in events:
        kwargs = {"sealed": sealed_blob, "contacts": {"phone": True}} if e.type == c.COMPLAINT_SEALED else {}
        state = domain.note(state, e, **kwargs) or state
    return state


def test_the_first_assignment_causes_the_receipt_notice_and_a_staff_message() -> None:
    r = receipt_no()
    first = assigned(r)
    state = _state(received(r), first)
    drafts = domain.plan(first, state)
    assert [(d.template, d.role) for d in drafts] == [(domain.RECEIPT, "citizen"), (domain.STAFF_ASSIGNED, "handler")]
    assert drafts[0].vars["handler"]["name"] == HANDLER["name"]
    assert drafts[0].vars["handler"]["contact"] == HANDLER["contact"]
    assert drafts[0].vars["handler"]["department"] == "도로과"


def test_a_later_assignment_or_reassignment_is_a_reassignment_notice() -> None:
    r = receipt_no()
    first, second = (
        assigned(r),
        assigned(r, {"id": "h-2", "name": "이담당", "contact": "051-1"}, at=NOW + timedelta(days=1)),
    )
    state = _state(first, second)
    assert state["first_assigned"] == first.id and state["handler"]["name"] == "이담당"
    assert domain.plan(second, state)[0].template == domain.REASSIGNED
    # the first one, redelivered after the second: still the receipt notice, with the same id
    again = domain.plan(first, state)
    assert again[0].template == domain.RECEIPT
    assert again[0].id == domain.plan(first, _state(first))[0].id
    moved = assigned(r, type=c.COMPLAINT_REASSIGNED, at=NOW + timedelta(days=2))
    assert domain.plan(moved, _state(first, moved))[0].template == domain.REASSIGNED


def test_ids_are_derived_from_cause_template_and_role() -> None:
    r = receipt_no()
    e = assigned(r)
    a, b = domain.plan(e, _state(e)), domain.plan(e, _state(e))
    assert [d.id for d in a] == [d.id for d in b]
    assert a[0].id == domain.notification_id(e.id, domain.RECEIPT, "citizen")
    assert len({d.id for d in a}) == len(a)


@pytest.mark.parametrize(
    ("type", "data", "template", "part"),
    [
        (
            c.COMPLAINT_SUPPLEMENTATION_REQUESTED,
            {"supplement_due": None},
            domain.SUPPLEMENTATION,
            "supplementation_requested",
        ),
        (c.COMPLAINT_EXTENDED, {"period": "7d", "extension_no": 1}, domain.EXTENSION, "extended"),
        (c.DEADLINE_PROGRESS_DUE, {"due_at": "2026-12-20T09:00:00+00:00"}, domain.PROGRESS, None),
        (c.SURVEY_INVITED, {"link": "https://survey.example/s/abc"}, domain.SURVEY, None),
        (c.COMPENSATION_GRANTED, {"voucher_code": "V-1", "amount_krw": 10000}, domain.COMPENSATION, None),
    ],
)
def test_citizen_triggers(type, data, template, part) -> None:
    e = event(type, receipt_no(), data)
    (draft,) = domain.plan(e, {})
    assert draft.template == template and draft.role == "citizen"
    assert (draft.part or {}).get("name") == part
    if part:
        assert draft.part["required"] and draft.part["occurred_at"] == e.data["occurred_at"]


def test_extension_and_result_are_legally_required() -> None:
    assert domain.TEMPLATES[domain.EXTENSION].legal
    assert domain.TEMPLATES[domain.RESULT].legal and domain.TEMPLATES[domain.RESULT_LETTER].legal
    assert not domain.TEMPLATES[domain.SURVEY].legal


def test_closing_plans_the_result_and_the_letter_which_wait_for_the_answer() -> None:
    r = receipt_no()
    rejected = event(c.COMPLAINT_CLOSED, r, {"outcome": "rejected"})
    drafts = domain.plan(rejected, {})
    assert [d.template for d in drafts] == [domain.RESULT, domain.RESULT_LETTER]
    at = rejected.data["occurred_at"]
    assert all(
        d.part
        == {
            "name": "answer",
            "occurred_at": at,
            "required": True,
            "fallback": {"name": "closed", "occurred_at": at, "required": True},
        }
        for d in drafts
    )
    accepted = event(c.COMPLAINT_CLOSED, r, {"outcome": "accepted"})
    assert domain.plan(accepted, {})[0].part["required"]  # the answer is waited for
    assert not domain.plan(accepted, {})[0].part["fallback"]["required"]  # an old close: no reasons needed


def _closed(outcome: str):
    r = receipt_no()
    e = event(c.COMPLAINT_CLOSED, r, {"outcome": outcome}, at=NOW)
    record = domain.plan(e, {})[0].to_doc(NOW)
    base = {"contact": "n1:x", "handler": HANDLER}
    return e, record, base


def _part(e, name: str) -> dict:
    return {"name": name, "occurred_at": e.data["occurred_at"], "sealed": "n1:p", "event": f"ev-{name}"}


def test_the_result_waits_for_the_answer_then_goes_without_it_after_the_bounded_wait() -> None:
    policy = domain.Policy(answer_wait=timedelta(minutes=10))
    e, record, base = _closed("accepted")
    soon, late = NOW + timedelta(minutes=9), NOW + timedelta(minutes=10)
    assert domain.missing(record, base, soon, policy) == ["part:answer"]
    assert domain.missing(record, base, late, policy) == []  # an old close without text: sent as before
    assert domain.missing(record, base) == ["part:answer"]  # without a clock, never the fallback
    # the answer came: it is used, before or after the wait
    answered = {**base, "parts": [_part(e, "answer")]}
    assert domain.missing(record, answered, soon, policy) == []
    assert domain.part_ref(record, answered, late, policy)["name"] == "answer"
    # a rejection without its answer still needs the "closed" part (reasons and remedy) after the wait
    e, record, base = _closed("rejected")
    assert domain.missing(record, base, late, policy) == ["part:closed"]
    assert domain.missing(record, {**base, "parts": [_part(e, "closed")]}, late, policy) == []
    assert domain.part_ref(record, {**base, "parts": [_part(e, "closed")]}, soon, policy)["name"] == "answer"


def test_a_result_never_assigned_names_the_official_of_its_answer() -> None:
    e, record, base = _closed("accepted")
    unassigned = {"contact": "n1:x"}
    assert domain.missing(record, unassigned, NOW, domain.Policy()) == ["handler", "part:answer"]
    part = domain.note(
        unassigned,
        sealed(e.subject, "answer", {}, at=NOW),
        sealed="n1:a",
        named={"name": "최답변", "contact": "051-888-4321", "department": "도로관리과"},
    )
    assert part["parts"][-1]["handler"]["name"] == "최답변"
    assert domain.missing(record, part, NOW, domain.Policy()) == []
    # a part that names nobody does not stand in for the handler
    nobody = domain.note(unassigned, sealed(e.subject, "answer", {}, at=NOW), sealed="n1:a", named={})
    assert domain.missing(record, nobody, NOW, domain.Policy()) == ["handler"]


def test_a_result_waiting_for_its_answer_is_looked_at_again_when_the_wait_ends() -> None:
    policy = domain.Policy(answer_wait=timedelta(minutes=10), waiting_recheck=timedelta(hours=1))
    _, record, _ = _closed("accepted")
    waiting = domain.waiting(record, ["part:answer"], NOW + timedelta(minutes=1), policy)
    assert waiting["next_attempt_at"] == domain.iso(NOW + timedelta(minutes=10))
    extension = domain.plan(event(c.COMPLAINT_EXTENDED, receipt_no(), {"period": "7d"}), {})[0].to_doc(NOW)
    assert domain.waiting(extension, ["part:extended"], NOW, policy)["next_attempt_at"] == domain.iso(
        NOW + timedelta(hours=1)
    )


def test_a_supplementation_due_within_a_day_is_urgent() -> None:
    soon = event(
        c.COMPLAINT_SUPPLEMENTATION_REQUESTED, receipt_no(), {"supplement_due": (NOW + timedelta(hours=20)).isoformat()}
    )
    later = event(
        c.COMPLAINT_SUPPLEMENTATION_REQUESTED, receipt_no(), {"supplement_due": (NOW + timedelta(days=7)).isoformat()}
    )
    assert domain.plan(soon, {})[0].urgent and not domain.plan(later, {})[0].urgent


def test_staff_warnings_and_escalations_go_to_each_recipient() -> None:
    r = receipt_no()
    warning = event(c.DEADLINE_WARNING, r, {"due_at": "2026-11-20T09:00:00+00:00"})
    assert [(d.template, d.role) for d in domain.plan(warning, {})] == [(domain.STAFF_WARNING, "handler")]
    escalated = event(c.DEADLINE_ESCALATED, r, {"level": 3, "recipients": ["section_chief", "complaint_office"]})
    drafts = domain.plan(escalated, {})
    assert [(d.template, d.role, d.vars["level"]) for d in drafts] == [
        (domain.STAFF_ESCALATED, "section_chief", 3),
        (domain.STAFF_ESCALATED, "complaint_office", 3),
    ]
    assert all(d.urgent for d in drafts)
    assert len({d.id for d in drafts}) == 2


def test_events_without_notices() -> None:
    r = receipt_no()
    for e in (
        received(r),
        event(c.DEADLINE_SET, r, {"due_at": "2026-11-20T09:00:00+00:00"}),
        event(c.COMPLAINT_ROUTED, r, {"department": "ROAD"}),
        event(c.COMPENSATION_REFUSED, r, {}),
    ):
        assert domain.plan(e, {}) == []


def test_facts_consent_handler_due_date_and_sealed_parts() -> None:
    r = receipt_no()
    state = domain.note(None, received(r, {"sms": True, "alimtalk": True, "email": False, "post": False}))
    assert state["consent"] == {"sms": True, "alimtalk": True, "email": False, "post": False}
    state = domain.note(state, event(c.DEADLINE_SET, r, {"due_at": "2026-11-20T09:00:00+00:00"}))
    assert state["due_at"] == "2026-11-20T09:00:00+00:00"
    filing = sealed(r, "filing", {})
    state = domain.note(state, filing, sealed="n1:contact", contacts={"phone": True, "email": False})
    assert state["contact"] == "n1:contact" and state["contacts"] == {"phone": True, "email": False}
    part = sealed(r, "closed", {}, at=NOW + timedelta(days=3))
    state = domain.note(state, part, sealed="n1:closed")
    ref = {"name": "closed", "occurred_at": (NOW + timedelta(days=3)).isoformat()}
    assert domain.find_part(state, ref)["sealed"] == "n1:closed"
    assert domain.find_part(state, {**ref, "occurred_at": NOW.isoformat()}) is None
    # the same sealed part twice is kept once
    assert len(domain.note(state, part, sealed="n1:closed")["parts"]) == 1
    assert domain.note(state, event(c.SURVEY_INVITED, r, {"link": "x"})) is None


def test_what_a_citizen_notice_waits_for() -> None:
    r = receipt_no()
    e = event(c.COMPLAINT_EXTENDED, r, {"period": "7d"})
    record = domain.plan(e, {})[0].to_doc(NOW)
    assert domain.missing(record, {}) == ["contact", "handler", "part:extended"]
    state = {
        "contact": "n1:x",
        "handler": HANDLER,
        "parts": [{"name": "extended", "occurred_at": e.data["occurred_at"], "sealed": "n1:y", "event": "e"}],
    }
    assert domain.missing(record, state) == []
    staff = domain.plan(event(c.DEADLINE_WARNING, r, {}), {})[0].to_doc(NOW)
    assert domain.missing(staff, {}) == []


def test_the_reply_to_a_cooperation_request_waits_for_the_handler_it_goes_to() -> None:
    """The reply may be noted before the assignment that says who handles the complaint (two topics):
    the lead handler's notice waits for it; a deadline warning to the role goes to the department."""
    r = receipt_no()
    facts = {"department": "parks", "from_department": "road", "request_id": "c-7"}
    replied = domain.plan(event(c.COMPLAINT_COOPERATION_REPLIED, r, facts), {})[0].to_doc(NOW)
    assert replied["role"] == "handler"
    assert domain.missing(replied, {}) == ["handler"]
    assert domain.missing(replied, {"handler": HANDLER}) == []
    warning = domain.plan(event(c.DEADLINE_WARNING, r, {}), {})[0].to_doc(NOW)
    assert warning["role"] == "handler" and domain.missing(warning, {}) == []


def test_the_facts_note_each_notice_id_once_and_the_newest_only_from_a_new_notice() -> None:
    r = receipt_no()
    first = assigned(r)
    later = assigned(r, {"id": "h-2", "name": "이담당", "contact": "051-1"}, at=NOW + timedelta(days=1))
    state = _state(received(r), first)
    drafts = domain.plan(first, state)
    noted = domain.remember(state, r, [d.id for d in drafts], latest=domain.newest(drafts))
    assert noted is not None and noted["notices"] == [d.id for d in drafts]
    assert noted["latest"] == {domain.latest_key(domain.STAFF_ASSIGNED, "handler"): drafts[1].id}
    assert noted["first_assigned"] == first.id  # the facts themselves are kept
    assert domain.remember(noted, r, [d.id for d in drafts], latest=domain.newest(drafts)) is None

    newer = domain.plan(later, domain.note(noted, later))
    moved = domain.remember(noted, r, [d.id for d in newer], latest=domain.newest(newer))
    assert moved is not None and moved["notices"] == [*noted["notices"], *(d.id for d in newer)]
    assert moved["latest"][domain.latest_key(domain.STAFF_ASSIGNED, "handler")] == newer[1].id
    # the first event replayed once its ids are known: the newest stays the newest
    again = domain.remember(moved, r, [drafts[1].id, "other"], latest=domain.newest(drafts))
    assert again is not None and again["latest"] == moved["latest"] and again["notices"][-1] == "other"
    assert domain.remember(None, r, ["n-1"]) == {"receipt_no": r, "notices": ["n-1"], "latest": {}}

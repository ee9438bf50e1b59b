"""The public projection: what each internal event publishes, what is held, what is never said."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from minwon import contracts as c
from minwon import topics
from minwon.events import Event, derive_id
from services.notification.agencies import public
from services.notification.agencies.public import Filter, label, project, pseudonym
from tests.unit.agencies.factories import (
    NOW,
    ORIGIN,
    SECRET,
    assigned,
    breached,
    closed,
    deadline_set,
    extended,
    receipt_no,
    received,
    routed,
)


def run(events: list[Event], state: dict[str, Any] | None = None) -> tuple[dict[str, Any] | None, list[Event]]:
    out: list[Event] = []
    for e in events:
        new, published = project(state, e, complaint_id=pseudonym(e.subject, SECRET), origin=ORIGIN)
        assert all(topic == topics.PUBLIC for topic, _ in published)
        out.extend(p for _, p in published)
        state = new if new is not None else state
    return state, out


def test_the_complaint_is_named_by_a_keyed_pseudonym_not_its_receipt_number() -> None:
    r = receipt_no()
    _, [event] = run([received(r)])
    pid = pseudonym(r, SECRET)
    assert event.subject == pid == event.data["complaint_id"]
    assert len(pid) == 32 and int(pid, 16) >= 0
    assert r not in event.to_json().decode()
    assert pseudonym(r, SECRET) == pid and pseudonym(r, b"another secret") != pid
    assert pseudonym(receipt_no(), SECRET) != pid


def test_a_lifecycle_publishes_six_types_with_only_the_contract_fields() -> None:
    r = receipt_no()
    due = NOW + timedelta(hours=3)
    state, events = run(
        [
            received(r),
            routed(r),
            deadline_set(r, due),
            assigned(r),
            extended(r),
            breached(r, due, NOW + timedelta(hours=4)),
            closed(r, at=NOW + timedelta(hours=5)),
        ]
    )
    assert [e.type for e in events] == [
        c.PUBLIC_COMPLAINT_RECEIVED,
        c.PUBLIC_COMPLAINT_ROUTED,
        c.PUBLIC_COMPLAINT_ASSIGNED,
        c.PUBLIC_COMPLAINT_EXTENDED,
        c.PUBLIC_COMPLAINT_BREACHED,
        c.PUBLIC_COMPLAINT_CLOSED,
    ]
    for e in events:
        public.validate(e)  # the contract: extra fields are refused
        assert set(e.data) <= set(public.DATA[e.type].model_fields)
        text = e.to_json().decode()
        for secret in (
            "complainant_ref",
            "p-0123456789abcdef01234567",
            "priority",
            "김담당",
            "051-888-1234",
            "handler",
            "keyword",
            "가로등",
            "statutory_type",
            "consent",
            r,
        ):
            assert secret not in text, (e.type, secret)
    received_, routed_, assigned_, extended_, breached_, closed_ = (e.data for e in events)
    assert received_["department"] is None and received_["due_at"] is None
    assert routed_["department"] == "road" and routed_["category"] == "도로" and routed_["district"] == "해운대구"
    assert assigned_["reassigned"] is False and assigned_["due_at"] == due.isoformat().replace("+00:00", "Z")
    assert extended_["extension_no"] == 1 and extended_["period"] == "7d"
    assert breached_["had_supplementation"] is True and breached_["had_extension"] is False
    assert closed_["outcome"] == "accepted" and closed_["on_time"] is False  # closed after the due time
    assert state is not None and state["held"] == []


def test_ids_are_derived_from_the_source_event_and_stable() -> None:
    r = receipt_no()
    source = received(r)
    _, [first] = run([source])
    _, [again] = run([source])
    assert first.id == again.id == derive_id(source.id, "public")
    assert first.time == source.time


def test_events_that_overtake_the_received_are_held_and_released_in_order() -> None:
    r = receipt_no()
    state, events = run([routed(r), assigned(r)])
    assert events == [] and state is not None and len(state["held"]) == 2
    assert "김담당" not in json.dumps(state, ensure_ascii=False)  # the held copy keeps only what it publishes
    state, events = run([received(r)], state)
    assert [e.type for e in events] == [
        c.PUBLIC_COMPLAINT_ROUTED,
        c.PUBLIC_COMPLAINT_ASSIGNED,
        c.PUBLIC_COMPLAINT_RECEIVED,
    ]
    assert [e.time for e in events] == [NOW + timedelta(minutes=1), NOW + timedelta(minutes=2), NOW]
    assert state is not None and state["held"] == []


def test_a_whistleblowers_complaint_is_never_published() -> None:
    r = receipt_no()
    state, held = run([routed(r)])
    assert held == []
    state, events = run([received(r, confidential=True), assigned(r), closed(r)], state)
    assert events == [] and state is not None and state["held"] == [] and state["confidential"] is True


def test_a_reassignment_is_published_as_assigned_with_the_new_department() -> None:
    r = receipt_no()
    _, events = run(
        [
            received(r),
            routed(r),
            assigned(r),
            assigned(r, at=NOW + timedelta(hours=1), type=c.COMPLAINT_REASSIGNED, department="traffic"),
        ]
    )
    last = events[-1]
    assert last.type == c.PUBLIC_COMPLAINT_ASSIGNED and last.data["reassigned"] is True
    assert last.data["department"] == "traffic"


def test_deadline_clock_events_update_the_due_time_without_publishing() -> None:
    r = receipt_no()
    due = NOW + timedelta(days=7)
    state, events = run([received(r), deadline_set(r, due)])
    assert [e.type for e in events] == [c.PUBLIC_COMPLAINT_RECEIVED]
    _, [done] = run([closed(r, at=NOW + timedelta(days=1))], state)
    assert done.data["on_time"] is True and done.data["due_at"] is not None


def test_unrelated_events_change_nothing() -> None:
    r = receipt_no()
    for type in (c.COMPLAINT_ACKNOWLEDGED, c.COMPLAINT_SEALED, c.DEADLINE_WARNING, c.NOTIFICATION_SENT):
        from tests.unit.agencies.factories import event

        assert project(None, event(type, r), complaint_id="0" * 32, origin=ORIGIN) == (None, [])


@pytest.mark.parametrize(
    "value, expected",
    [
        ("도로", "도로"),
        ("해운대구", "해운대구"),
        ("road-damage", "road-damage"),
        ("010-1234-5678", None),
        ("01012345678", None),
        ("me@example.kr", None),
        ("https://x.example", None),
        ("051 888 1234", None),
        ("x" * 51, None),
        ("", None),
        (None, None),
        (42, None),
    ],
)
def test_labels_that_look_like_contact_details_are_not_published(value: Any, expected: str | None) -> None:
    assert label(value) == expected


def test_a_category_that_looks_like_a_phone_number_is_published_as_null() -> None:
    r = receipt_no()
    _, [e] = run([received(r, category="연락 010-2222-3333")])
    assert e.data["category"] is None and "2222" not in e.to_json().decode()


def test_an_extension_period_that_is_not_a_period_code_is_dropped() -> None:
    r = receipt_no()
    _, events = run([received(r), extended(r, period="사유: 홍길동 요청")])
    assert events[-1].data["period"] is None


def test_the_contract_refuses_extra_fields_and_wrong_values() -> None:
    r = receipt_no()
    _, [e] = run([received(r)])
    doc = e.to_doc()
    with pytest.raises(ValueError):
        public.validate({**doc, "data": {**doc["data"], "name": "홍길동"}})
    with pytest.raises(ValueError):
        public.validate({**doc, "data": {**doc["data"], "kind": "gossip"}})
    with pytest.raises(ValueError):
        public.validate({**doc, "type": "kr.minwon.complaint.received.v1"})
    assert public.validate(doc).data.complaint_id == e.subject


def test_filters_match_on_type_kind_category_and_district() -> None:
    r = receipt_no()
    _, [e] = run([received(r)])
    assert Filter().matches(e)
    assert Filter(types=["received"], kinds=["other"], categories=["도로"], districts=["해운대구", "중구"]).matches(e)
    assert not Filter(types=["closed"]).matches(e)
    assert not Filter(kinds=["petition"]).matches(e)
    assert not Filter(districts=["중구"]).matches(e)
    internal = received(r)
    assert not Filter().matches(internal)  # only public events are ever delivered


def test_a_transfer_publishes_the_receiving_agency_and_never_its_reason() -> None:
    from tests.unit.agencies.factories import event

    r = receipt_no()
    transfer = event(c.COMPLAINT_TRANSFERRED, r, {"agency": "busan-police"}, at=NOW + timedelta(hours=1))
    _, events = run([received(r), routed(r), transfer])
    last = events[-1]
    assert last.type == c.PUBLIC_COMPLAINT_TRANSFERRED and last.data["agency"] == "busan-police"
    public.validate(last)
    assert "reason" not in last.data and r not in last.to_json().decode()
    assert Filter(types=["transferred"]).matches(last) and not Filter(types=["closed"]).matches(last)
    # a confidential complaint's transfer publishes nothing, like the rest of it
    secret = receipt_no()
    _, nothing = run([received(secret, confidential=True), event(c.COMPLAINT_TRANSFERRED, secret, {"agency": "x"})])
    assert nothing == []

"""Who handles a routed complaint: least-loaded on duty, priority first, guardian officials,
reassignment and release."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from minwon import contracts as c
from minwon.errors import Conflict, Invalid
from minwon.events import derive_id
from services.routing import domain
from services.routing.domain import ASSIGNED, CLOSED, QUEUED, Pick
from tests.unit.routing.factories import NOW, SOURCE, department, department_of, facts, official, routed, rule

# ---------------------------------------------------------------- least-loaded


def test_least_loaded_on_duty_official_is_chosen():
    team = [official("a"), official("b"), official("c", on_duty=False)]
    assert domain.least_loaded(team, {"a": 3, "b": 1, "c": 0}).id == "b"


def test_ties_go_by_id_and_nobody_on_duty_means_nobody():
    assert domain.least_loaded([official("b"), official("a")], {}).id == "a"
    assert domain.least_loaded([official("a", on_duty=False)], {}) is None


def test_a_cap_keeps_full_officials_out():
    team = [official("a"), official("b")]
    assert domain.least_loaded(team, {"a": 2, "b": 2}, cap=2) is None
    assert domain.least_loaded(team, {"a": 2, "b": 1}, cap=2).id == "b"


def test_plan_spreads_a_queue_over_the_team():
    dept = department("traffic", official("a"), official("b"))
    queue = [routed(f"R{i}", department="traffic", received_at=f"2026-03-02T0{i}:00:00+00:00") for i in range(4)]
    picks = [(a.receipt_no, p.handler.id) for a, p in domain.plan(queue, dept, {"a": 1, "b": 0}, {})]
    assert picks == [("R0", "b"), ("R1", "a"), ("R2", "b"), ("R3", "a")]


# ----------------------------------------------------------- priority first


def test_priority_complaints_are_assigned_ahead_of_the_queue():
    dept = department("traffic", official("a"))
    queue = [
        routed("OLD-1", department="traffic", received_at="2026-03-02T00:00:00+00:00"),
        routed("OLD-2", department="traffic", received_at="2026-03-02T00:10:00+00:00"),
        routed("ELDER", department="traffic", priority=True, received_at="2026-03-02T00:50:00+00:00"),
    ]
    assert [a.receipt_no for a in domain.queue_order(queue)] == ["ELDER", "OLD-1", "OLD-2"]
    planned = domain.plan(queue, dept, {}, {}, cap=2)
    assert [a.receipt_no for a, _ in planned] == ["ELDER", "OLD-1"]  # the cap leaves OLD-2 waiting


def test_a_queue_list_entry_sorts_as_its_complaint_in_the_queue():
    queue = [
        routed("OLD-1", department="traffic", received_at="2026-03-02T00:00:00+00:00"),
        routed("ELDER", department="traffic", priority=True, received_at="2026-03-02T00:50:00+00:00"),
        routed("OLD-0", department="traffic", received_at="2026-03-01T23:00:00+00:00"),
    ]
    listed = [domain.queue_entry(a.to_doc()) for a in queue]
    assert all(w is not None and w[0] == "traffic" for w in listed)
    by_entry = sorted((w[1] for w in listed if w), key=lambda e: domain.queue_key(*e))
    assert [e[0] for e in by_entry] == [a.receipt_no for a in domain.queue_order(queue)] == ["ELDER", "OLD-0", "OLD-1"]


def test_only_a_waiting_complaint_with_a_department_has_a_queue_entry():
    assert domain.queue_entry(None) is None
    assert domain.queue_entry(replace(routed("R1", department="traffic"), status=ASSIGNED).to_doc()) is None
    assert domain.queue_entry(replace(routed("R1"), department=None).to_doc()) is None
    waits = domain.queue_entry(routed("R1", department="traffic").to_doc())
    assert waits is not None and waits[0] == "traffic" and waits[1][:2] == ("R1", False)


def test_take_counts_the_handler_and_the_guardian():
    loads, guardian_loads = {"a": 1}, {}
    domain.take(loads, guardian_loads, Pick(official("a"), official("g", guardian=True)))
    domain.take(loads, guardian_loads, Pick(official("b"), None))
    assert loads == {"a": 2, "b": 1} and guardian_loads == {"g": 1}


def test_room_is_what_the_on_duty_officials_can_still_take_under_the_cap():
    team = [official("a"), official("b"), official("c", on_duty=False)]
    assert domain.room(team, {"a": 2, "b": 0}, cap=3) == 4
    assert domain.room(team, {"a": 3, "b": 5}, cap=3) == 0
    assert domain.room(team, {"a": 3}) is None  # no cap: no bound


def test_without_anyone_on_duty_the_queue_waits():
    dept = department("traffic", official("a", on_duty=False))
    assert domain.plan([routed("R1", department="traffic")], dept, {}, {}) == []


def test_plan_only_takes_complaints_waiting_in_that_department():
    dept = department("traffic", official("a"))
    other = routed("R2", department="road")
    done = replace(routed("R3", department="traffic"), status=ASSIGNED)
    assert [a.receipt_no for a, _ in domain.plan([other, done, routed("R1")], dept, {}, {})] == ["R1"]


# ------------------------------------------------------------------ guardian


def test_statutory_complaints_get_a_guardian_other_than_the_handler():
    dept = department("building", official("a", guardian=True), official("b"), official("lead", guardian=True))
    pick = domain.pick_for("statutory", dept, {"a": 0, "b": 5, "lead": 9}, {"a": 3, "lead": 2})
    assert (pick.handler.id, pick.guardian.id) == ("b", "lead")  # a non-guardian handles; a guardian guards
    assert domain.pick_for("grievance", dept, {"a": 0, "b": 5, "lead": 9}, {}) == Pick(dept.handlers[0], None)


def test_when_only_guardians_are_on_duty_one_handles_and_another_guards():
    dept = department(
        "land", official("g1", guardian=True), official("g2", guardian=True), official("b", on_duty=False)
    )
    pick = domain.pick_for("statutory", dept, {"g1": 4, "g2": 1}, {"g1": 0, "g2": 0})
    assert (pick.handler.id, pick.guardian.id) == ("g2", "g1")


def test_guardian_on_duty_is_preferred_and_none_designated_means_none():
    dept = department(
        "land", official("a"), official("g1", on_duty=False, guardian=True), official("g2", guardian=True)
    )
    assert domain.choose_guardian(dept, {"g1": 0, "g2": 7}, handler=official("a")).id == "g2"
    assert domain.choose_guardian(department("x", official("a")), {}, handler=official("a")) is None


# --------------------------------------------------------------- route, assign


def test_route_designates_the_department_and_emits_routed():
    found = domain.match(
        [rule("parking", 60, "traffic", keywords=["불법주차"])],
        facts(title="불법주차 신고", channel="phone"),
        default_department="complaint-office",
    )
    a, events = domain.route(
        facts(channel="phone"),
        found,
        department_of("traffic"),
        receipt_no="R1",
        priority=True,
        received_at="2026-03-02T00:00:00+00:00",
        cause="ev-1",
        now=NOW,
        source=SOURCE,
    )
    assert a.status == QUEUED and a.department == "traffic" and a.pending == "assigned"
    (e,) = events
    assert e.type == c.COMPLAINT_ROUTED and e.id == derive_id("ev-1", "routed") and e.subject == "R1"
    assert e.data["rule_id"] == "parking" and e.data["rule_version"] == 1
    assert e.data["department_name"] == "부서 traffic" and e.data["priority"] is True
    assert "keyword '불법주차' in the title" in e.data["reason"]
    assert set(e.data) >= {
        "receipt_no",
        "department",
        "department_name",
        "rule_id",
        "rule_version",
        "reason",
        "priority",
        "kind",
        "category",
        "district",
        "channel",
        "statutory_type",
        "received_at",
        "occurred_at",
    }
    assert "불법주차 신고" not in str(e.data)


def test_assign_names_handler_and_guardian_publicly():
    a = routed("R1", kind="statutory", department="building")
    dept = department("building", official("h1"), official("g1", guardian=True))
    new, (e,) = domain.assign(a, dept, Pick(dept.handlers[0], dept.handlers[1]), now=NOW, source=SOURCE)
    assert new.status == ASSIGNED and new.handler["id"] == "h1" and new.pending is None
    assert e.type == c.COMPLAINT_ASSIGNED and e.id == derive_id("ev-R1", "assigned")
    assert e.data["handler"] == {"id": "h1", "name": "담당자 h1", "contact": "051-000-0000"}
    assert e.data["guardian"]["id"] == "g1" and e.data["kind"] == "statutory"
    assert [s["step"] for s in new.history] == ["routed", "assigned"]


def test_only_a_waiting_complaint_can_be_assigned():
    dept = department_of("traffic")
    a, _ = domain.assign(routed("R1"), dept, Pick(dept.handlers[0], None), now=NOW, source=SOURCE)
    with pytest.raises(Conflict):
        domain.assign(a, dept, Pick(dept.handlers[0], None), now=NOW, source=SOURCE)


# ----------------------------------------------------------------- reassign


def _assigned(receipt_no: str = "R1", *, kind: str = "other") -> domain.Assignment:
    dept = department_of("traffic")
    a, _ = domain.assign(
        routed(receipt_no, kind=kind), dept, Pick(dept.handlers[0], dept.handlers[1]), now=NOW, source=SOURCE
    )
    return a


def test_reassignment_to_another_department_is_a_misroute_counted_once():
    road, parks = department_of("road"), department_of("parks")
    moved = domain.reassign(
        _assigned(), road, handler_id=None, reason="소관 아님", reason_code=None, actor="kim", now=NOW
    )
    assert moved.status == QUEUED and moved.pending == "reassigned" and moved.handler is None
    assert moved.misroute == {"rule_id": "illegal-parking", "rule_version": 1, "from": "traffic", "to": "road"}
    done, (e,) = domain.assign(moved, road, Pick(road.handlers[0], None), now=NOW, source=SOURCE)
    assert e.type == c.COMPLAINT_REASSIGNED and e.id == derive_id("R1", "reassigned", 1)
    assert e.data["previous"] == {"department": "traffic", "handler": _assigned().handler}
    assert e.data["misroute"]["rule_id"] == "illegal-parking" and e.data["reason_code"] == "misrouted"
    assert "소관 아님" not in str(e.data)  # the free-text reason stays in routing's history
    again = domain.reassign(
        done, parks, handler_id=None, reason="다시", reason_code=None, actor="lee", now=NOW + timedelta(hours=1)
    )
    assert again.misroute == moved.misroute and again.history[-1]["misroute"] is None
    _, (e2,) = domain.assign(again, parks, Pick(parks.handlers[0], None), now=NOW, source=SOURCE)
    assert e2.id == derive_id("R1", "reassigned", 2) and e2.data["misroute"] is None


def test_reassignment_within_the_department_is_no_misroute_and_keeps_the_guardian():
    a = _assigned(kind="statutory")
    dept = department("traffic", official("traffic-a"), official("traffic-b", guardian=True), official("c"))
    moved = domain.reassign(a, dept, handler_id="c", reason="업무 조정", reason_code="workload", actor="kim", now=NOW)
    assert moved.misroute is None and moved.guardian == a.guardian
    pick = domain.pick_for(moved.kind, dept, {}, {}, handler_id="c", keep_guardian=moved.guardian["id"])
    assert (pick.handler.id, pick.guardian.id) == ("c", "traffic-b")


@pytest.mark.parametrize(
    ("kwargs", "error", "field"),
    [
        ({"handler_id": None}, Invalid, "department"),
        ({"handler_id": "nobody"}, Invalid, "handler"),
        ({"handler_id": "traffic-a", "reason": " "}, Invalid, "reason"),
        ({"handler_id": "off"}, Conflict, None),
        ({"handler_id": "traffic-a"}, Conflict, None),
    ],
)
def test_bad_reassignments_are_refused(kwargs, error, field):
    dept = department("traffic", official("traffic-a"), official("off", on_duty=False))
    args = {"reason": "사유", "reason_code": None, "actor": "kim", "now": NOW, **kwargs}
    with pytest.raises(error) as err:
        domain.reassign(_assigned(), dept, **args)
    assert err.value.field == field


# ------------------------------------------------------------------- release


def test_release_closes_and_frees_the_handler():
    closed = domain.release(_assigned(), receipt_no="R1", event_type=c.COMPLAINT_WITHDRAWN, now=NOW)
    assert closed.status == CLOSED and closed.closed_by == "withdrawn"
    assert domain.release(closed, receipt_no="R1", event_type=c.COMPLAINT_CLOSED, now=NOW) is None
    assert domain.plan([closed], department_of("traffic"), {}, {}) == []
    with pytest.raises(Conflict):
        domain.reassign(
            closed, department_of("road"), handler_id=None, reason="x", reason_code=None, actor="kim", now=NOW
        )


def test_a_release_before_the_routing_leaves_a_closed_record():
    tomb = domain.release(None, receipt_no="R9", event_type=c.COMPLAINT_TRANSFERRED, now=NOW)
    assert tomb.status == CLOSED and tomb.department is None and tomb.closed_by == "transferred"


def test_assignment_round_trips_through_its_document():
    a = _assigned(kind="statutory")
    assert domain.Assignment.from_doc(a.to_doc()) == a


def test_picking_the_first_handler_of_a_waiting_complaint_is_its_assignment_not_a_reassignment():
    dept = department("traffic", official("traffic-a"), official("traffic-b"))
    waiting = routed("R5", department="traffic")
    picked = domain.reassign(
        waiting, dept, handler_id="traffic-b", reason="전문 분야", reason_code=None, actor="kim", now=NOW
    )
    assert picked.pending == "assigned" and picked.reassignments == 0 and picked.misroute is None
    _, (e,) = domain.assign(picked, dept, Pick(dept.handlers[1], None), now=NOW, source=SOURCE)
    assert e.type == c.COMPLAINT_ASSIGNED and e.data["handler"]["id"] == "traffic-b"
    moved = domain.reassign(
        waiting, department_of("road"), handler_id=None, reason="소관", reason_code=None, actor="kim", now=NOW
    )
    assert moved.pending == "reassigned" and moved.misroute["to"] == "road"

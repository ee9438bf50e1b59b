"""A complaint routed to a department open round the clock (24시간·연중무휴): routing publishes the
department's hours, the deadline service counts the SLA signals on them and leaves the legal due
date on the statutory calendar. Real routing and deadline services over the backend's bus and store."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from minwon import contracts as c
from minwon import topics
from minwon.workcal import ALWAYS_OPEN, WorkCalendar
from services.deadline import domain as d
from tests.factories import staff_headers
from tests.integration.deadline.harness import MovableClock, feed, received, started
from tests.integration.routing.helpers import publish, receipt, running, sealed_filing, wait_for

OFFICE = staff_headers("office-hours", roles=("complaint_office",))


async def test_a_round_the_clock_department_moves_the_slas_and_not_the_legal_due_date(backend) -> None:
    tag = uuid.uuid4().hex[:8]
    code = f"one-stop-{tag}"
    async with running(backend) as run:
        bad = await run.client.put(
            f"/api/v1/routing/departments/{code}",
            headers=OFFICE,
            json={"name": "종합민원실", "hours": {"days": ["mon", "someday"]}},
        )
        assert bad.status_code == 422 and bad.json()["fields"][0]["field"] == "hours.days.1"
        put = await run.client.put(
            f"/api/v1/routing/departments/{code}",
            headers=OFFICE,
            json={
                "name": "종합민원실",
                "phone": "051-120-0000",
                "hours": {"always_open": True},
                "handlers": [{"id": f"desk-{tag}", "name": "박민원", "contact": "051-120-0001"}],
            },
        )
        assert put.status_code == 200, put.text
        assert put.json()["hours"] == ALWAYS_OPEN.to_spec()
        kept = await run.client.put(
            f"/api/v1/routing/departments/{code}",
            headers=OFFICE,
            json={"name": "종합민원실 (24시간)", "phone": "051-120-0000"},
        )
        assert kept.json()["hours"] == ALWAYS_OPEN.to_spec()  # absent: the hours are kept
        rule = await run.client.post(
            "/api/v1/routing/rules/",
            headers=OFFICE,
            json={
                "id": f"desk-{tag}",
                "name": "종합민원실 24시간",
                "priority": 5,
                "department": code,
                "conditions": {"keywords": [f"야간창구{tag}"]},
            },
        )
        assert rule.status_code == 201, rule.text

        no, plain = receipt(), receipt()
        await publish(run, topics.PRIVATE, sealed_filing(run.settings, no, title=f"야간창구{tag} 문의"))
        await publish(
            run,
            topics.PRIVATE,
            sealed_filing(run.settings, plain, title=f"일반 문의 {tag}", district="부산광역시 동래구 명장동"),
        )
        routed_events = await wait_for(run.bus, no, c.COMPLAINT_ROUTED, c.COMPLAINT_ASSIGNED)
        plain_events = await wait_for(run.bus, plain, c.COMPLAINT_ROUTED)

    routed = next(e for e in routed_events if e.type == c.COMPLAINT_ROUTED)
    assert routed.data["department"] == code and routed.data["department_hours"] == ALWAYS_OPEN.to_spec()
    other = next(e for e in plain_events if e.type == c.COMPLAINT_ROUTED)
    assert other.data["department"] != code and other.data["department_hours"] is None

    # Friday 17:00 KST: a statutory day has one working hour left, the one-stop office counts the night too
    friday = datetime.fromisoformat("2030-03-08T17:00:00+09:00")
    clock = MovableClock(friday + timedelta(minutes=5))
    store, bus = backend.store("deadline"), backend.bus()
    deadlines = await started(backend, store, bus, clock)
    try:
        for receipt_no, event in ((no, routed), (plain, other)):
            await feed(bus, deadlines, received(receipt_no, friday, kind="grievance", channel="mail"))
            await feed(bus, deadlines, event)
        one_stop, statutory = await deadlines.get(no), await deadlines.get(plain)
    finally:
        await bus.stop()

    def pending(view: dict[str, object], name: str) -> datetime:
        signals = view["signals"]["pending"]  # type: ignore[index]
        return datetime.fromisoformat(next(s["at"] for s in signals if s["name"] == name))

    assert one_stop["department_hours"] == ALWAYS_OPEN.to_spec()
    assert pending(one_stop, d.SLA_ASSIGNMENT) == friday + timedelta(hours=8)  # Saturday 01:00
    assert pending(one_stop, d.SLA_FORWARDING) == friday + timedelta(hours=1)
    assert pending(statutory, d.SLA_ASSIGNMENT) == datetime.fromisoformat("2030-03-11T17:00:00+09:00")
    # the legal period is the statutory one for both: 7 working days, due Monday 18 March 18:00
    legal = d.compute_due(friday, "7d", WorkCalendar())
    assert one_stop["due_at"] == statutory["due_at"] == legal.isoformat() == "2030-03-18T18:00:00+09:00"
    assert one_stop["warning_at"] == statutory["warning_at"]
    assert pending(one_stop, d.BREACHED) == pending(statutory, d.BREACHED)
    stored = await store.collection("clocks").get(no)
    assert stored is not None and stored["department_hours"]["always_open"] is True

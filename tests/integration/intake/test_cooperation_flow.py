"""Cooperating departments (협조부서) end to end through intake's API and the deadline service's
handlers, on both backends: the request and its clock, the department asked reads (audited) and
replies, the warning and the overdue escalation each once (a redelivery and a rebuild add none),
a reply or a cancellation stops the clock."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

from litestar.testing import AsyncTestClient

from minwon import contracts as c
from minwon import topics
from minwon.events import Event
from minwon.host import Infrastructure, create_app
from minwon.outbox import Relay
from services.deadline import replay
from services.intake.bootstrap import bootstrap, build
from services.intake.settings import IntakeSettings
from tests import samples
from tests.factories import complaint_payload, staff_headers
from tests.integration.deadline.harness import MovableClock, deadlines_for, now_utc, started, wait_for

API = "/api/v1/complaints"
COOP_SIGNALS = (c.DEADLINE_COOPERATION_WARNING, c.DEADLINE_COOPERATION_OVERDUE)


def _official(department: str, role: str = "handler") -> dict[str, str]:
    return staff_headers(f"{role}-{department}-{uuid.uuid4().hex[:6]}", department=department, roles=(role,))


async def _events(bus, topic: str, receipt: str, *types: str) -> list[Event]:
    """Each event once: an outbox may publish an event again (at-least-once; consumers drop it by its id)."""
    found = [e async for _, e in bus.read([topic]) if e.subject == receipt and (not types or e.type in types)]
    return list({e.id: e for e in found}.values())


async def test_a_request_its_clock_the_reply_and_the_cancellation(backend) -> None:
    bus, reader = backend.bus(), backend.bus()
    intake_store = backend.store("intake")
    service = bootstrap(
        backend.settings(), store=intake_store, bus=bus, intake_settings=IntakeSettings(answer_approval_default=False)
    )
    intake = build(backend.settings(), store=backend.store("intake"), relay=Relay(bus))
    clock = MovableClock(now_utc())
    deadline_store = backend.store("deadline")
    deadlines = await started(backend, deadline_store, backend.bus(), clock)
    lead, parks, water = _official("road"), _official("parks"), _official("water")
    question = "가로수 뿌리로 보도가 들떴습니다. 공원녹지과 관리 대상인지 회신 바랍니다"
    async with AsyncTestClient(
        create_app([service], Infrastructure(bus=bus, stores={"intake": intake_store}))
    ) as client:
        filed = await client.post(API, json=complaint_payload(body="우리 집 앞 보도가 가로수 때문에 들떴습니다"))
        receipt = filed.json()["receipt_no"]
        await intake.on_event(
            Event.new(
                c.COMPLAINT_ROUTED,
                id=str(uuid.uuid4()),
                source="/test/routing",
                subject=receipt,
                time=datetime.now(UTC),
                data=samples.shaped(c.COMPLAINT_ROUTED, receipt_no=receipt, department="road"),
            )
        )
        # only the lead department asks; another department may not, nor read before it is asked
        refused = await client.post(
            f"{API}/{receipt}/cooperation", headers=water, json={"department": "parks", "question": question}
        )
        assert refused.status_code == 403
        assert (await client.get(f"{API}/{receipt}/cooperation/complaint", headers=parks)).status_code == 403
        bad = await client.post(
            f"{API}/{receipt}/cooperation",
            headers=lead,
            json={"department": "parks", "question": question, "working_days": 0},
        )
        assert bad.status_code == 422 and "working_days" in bad.text
        asked = await client.post(
            f"{API}/{receipt}/cooperation",
            headers={**lead, "Idempotency-Key": "ask-1"},
            json={"department": "parks", "question": question, "working_days": 2},
        )
        assert asked.status_code == 201, asked.text
        request_id = asked.json()["request_id"]
        again = await client.post(
            f"{API}/{receipt}/cooperation",
            headers={**lead, "Idempotency-Key": "ask-1"},
            json={"department": "parks", "question": question, "working_days": 2},
        )
        assert again.json()["request_id"] == request_id and len(again.json()["items"]) == 1

        # on the shared topic: codes and ids only, never the question
        (requested,) = await wait_for(
            lambda: _events(reader, topics.COMPLAINTS, receipt, c.COMPLAINT_COOPERATION_REQUESTED)
        )
        assert requested.data["request_id"] == request_id and requested.data["department"] == "parks"
        assert "가로수" not in json.dumps(requested.data, ensure_ascii=False)

        # the department asked: its list, the complaint without personal data, the text read audited
        listed = (await client.get(f"{API}/cooperation-requests", headers=parks)).json()["items"]
        assert [(r["receipt_no"], r["state"]) for r in listed] == [(receipt, "open")]
        assert (await client.get(f"{API}/cooperation-requests", headers=water)).json()["items"] == []
        seen = await client.get(f"{API}/{receipt}/cooperation/complaint", headers=parks)
        assert seen.status_code == 200 and "complainant_ref" not in seen.json()
        text = (await client.get(f"{API}/{receipt}/cooperation/text", headers=parks)).json()
        assert "가로수" in text["body"] and "name" not in text and "phone" not in text
        assert (await client.get(f"{API}/{receipt}/cooperation/complaint", headers=water)).status_code == 403
        audit = [e async for e in _audit(intake, receipt)]
        assert {(e["actor"]["department"], e["action"]) for e in audit} >= {
            ("parks", "read_as_cooperating_department"),
            ("parks", "read_personal_data"),
        }

        # the deadline service opens the request's clock and announces it; intake notes the due time
        await deadlines.handle(requested)
        (announced,) = await wait_for(lambda: _events(reader, topics.DEADLINES, receipt, c.DEADLINE_COOPERATION_SET))
        await intake.on_event(announced)
        mine = (await client.get(f"{API}/{receipt}/cooperation", headers=parks)).json()["items"]
        assert mine[0]["question"] == question and mine[0]["due_at"] == announced.data["due_at"]
        due = datetime.fromisoformat(announced.data["due_at"])
        warning = datetime.fromisoformat(announced.data["warning_at"])
        assert warning < due

        # the warning, then the escalation, each once: timer passes, a redelivery, a second pass
        clock.now = warning + timedelta(minutes=1)
        assert await deadlines.fire_due() >= 1
        assert await deadlines.fire_due() == 0
        clock.now = due + timedelta(minutes=1)
        assert await deadlines.fire_due() >= 1
        await deadlines.handle(requested)  # redelivered
        assert await deadlines.fire_due() == 0
        signals = await wait_for(lambda: _at_least(reader, receipt, 2))
        assert [e.type for e in signals] == list(COOP_SIGNALS)
        overdue = signals[1]
        assert overdue.data["recipients"] == ["team_lead"] and overdue.data["department"] == "parks"
        await intake.on_event(overdue)

        async def overdue_row() -> list | None:
            # the department's list is derived from the complaint: the service's own consumer, handling the
            # request's earlier events from the log meanwhile, may write the row from what it read before
            # this handling, until it reaches the overdue event itself
            items = (await client.get(f"{API}/cooperation-requests", headers=parks)).json()["items"]
            return items if items and items[0]["overdue"] is True else None

        late = await wait_for(overdue_row, timeout=30)
        assert [(r["receipt_no"], r["overdue"]) for r in late] == [(receipt, True)]

        # the reply: only the department asked, once; the lead reads it; the clock stops
        wrong = await client.post(
            f"{API}/{receipt}/cooperation/{request_id}/reply", headers=water, json={"text": "모릅니다"}
        )
        assert wrong.status_code == 403
        replied = await client.post(
            f"{API}/{receipt}/cooperation/{request_id}/reply",
            headers=parks,
            json={"text": "공원녹지과 관리 가로수입니다. 뿌리 정리 일정을 잡겠습니다"},
        )
        assert replied.status_code == 200, replied.text
        twice = await client.post(
            f"{API}/{receipt}/cooperation/{request_id}/reply", headers=parks, json={"text": "다시"}
        )
        assert twice.status_code == 409
        lead_view = (await client.get(f"{API}/{receipt}/cooperation", headers=lead)).json()["items"]
        assert lead_view[0]["state"] == "replied" and lead_view[0]["reply"].startswith("공원녹지과 관리")
        (reply_event,) = await wait_for(
            lambda: _events(reader, topics.COMPLAINTS, receipt, c.COMPLAINT_COOPERATION_REPLIED)
        )
        assert "뿌리" not in json.dumps(reply_event.data, ensure_ascii=False)
        await deadlines.handle(reply_event)
        # the request closed: the department asked no longer reads the complaint
        assert (await client.get(f"{API}/{receipt}/cooperation/complaint", headers=parks)).status_code == 403

        # a second request, cancelled by the lead: its clock never fires
        second = await client.post(
            f"{API}/{receipt}/cooperation",
            headers=lead,
            json={"department": "water", "question": "상수도관 누수 여부 확인 바랍니다"},
        )
        second_id = second.json()["request_id"]
        cancelled = await client.post(f"{API}/{receipt}/cooperation/{second_id}/cancel", headers=lead)
        assert cancelled.status_code == 200 and cancelled.json()["items"][1]["state"] == "cancelled"
        assert (await client.post(f"{API}/{receipt}/cooperation/{second_id}/cancel", headers=lead)).status_code == 409
        for t in (c.COMPLAINT_COOPERATION_REQUESTED, c.COMPLAINT_COOPERATION_CANCELLED):
            found = await wait_for(lambda t=t: _events(reader, topics.COMPLAINTS, receipt, t))
            for e in found:
                await deadlines.handle(e)
        clock.now += timedelta(days=30)
        assert await deadlines.fire_due() == 0

    record = await deadline_store.collection("cooperation_clocks").get(receipt)
    assert record is not None and record["next_fire_at"] is None
    assert [r["state"] for r in record["requests"]] == ["replied", "cancelled"]
    assert len(await _coop_signals(reader, receipt)) == 2
    records_before = await _records(reader, receipt)

    # a full rebuild of the deadline store from the log: nothing is published again
    await deadline_store.drop()
    rebuilt, _ = deadlines_for(backend, deadline_store, backend.bus(), clock)
    await replay.rebuild(rebuilt, backend.bus())
    await rebuilt.fire_due()  # the complaint's own clock may fire (its received was never handled before)
    await rebuilt.fire_due()
    assert len(await _coop_signals(reader, receipt)) == 2
    assert await _records(reader, receipt) == records_before  # not even a copy of a signal already sent
    again_record = await deadline_store.collection("cooperation_clocks").get(receipt)
    assert again_record is not None and [r["state"] for r in again_record["requests"]] == ["replied", "cancelled"]
    await reader.stop()


async def _records(bus, receipt: str) -> list[str]:
    """The ids of the complaint's cooperation signals as the log holds them, copies included."""
    return [e.id async for _, e in bus.read([topics.DEADLINES]) if e.subject == receipt and e.type in COOP_SIGNALS]


async def _coop_signals(bus, receipt: str) -> list[Event]:
    return await _events(bus, topics.DEADLINES, receipt, *COOP_SIGNALS)


async def _at_least(bus, receipt: str, n: int) -> list[Event] | None:
    found = await _coop_signals(bus, receipt)
    return found if len(found) >= n else None


async def _audit(intake, receipt: str):
    for entry in await intake.store.list_audit(where={"receipt_no": receipt}, after=None, limit=100):
        yield entry


async def test_a_row_of_the_list_written_late_from_an_earlier_version_does_not_replace_a_later_one(
    backend,  # noqa: ANN001
) -> None:
    """The reply and the request's clock are written by two handlers; whichever finishes last, the
    department's list shows the request as the latest version of the complaint has it."""
    store = build(backend.settings(), store=backend.store("intake"), relay=Relay(backend.bus())).store
    row = {
        "_id": f"2026-T-{uuid.uuid4().hex[:8]}#r1",
        "receipt_no": "2026-T",
        "request_id": "r1",
        "department": "parks",
        "requested_at": "2026-12-01T00:00:00+00:00",
    }
    await store.put_cooperation(row={**row, "state": "open"}, version=3)
    await store.put_cooperation(row={**row, "state": "replied"}, version=5)
    await store.put_cooperation(row={**row, "state": "open", "due_at": "2026-12-04"}, version=4)  # late
    [listed] = [
        r
        for r in await store.list_cooperation(department="parks", states=["open", "replied"], limit=50)
        if r["_id"] == row["_id"]
    ]
    assert listed["state"] == "replied" and listed["complaint_version"] == 5 and "due_at" not in listed
    await store.put_cooperation(row={**row, "state": "replied"}, version=5)  # again: nothing changes
    assert (await store.cooperation.get(row["_id"]))["_v"] == 2

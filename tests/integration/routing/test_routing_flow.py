"""Routing against real stores and buses: a sealed filing in, routed and assigned out — once."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid

from prometheus_client import REGISTRY

from minwon import contracts as c
from minwon import topics
from minwon.events import derive_id
from minwon.outbox import Relay
from services.routing.store import RoutingStore
from tests import spies
from tests.factories import staff_headers
from tests.integration.routing.helpers import (
    in_app,
    lifecycle,
    publish,
    receipt,
    routing_events,
    running,
    sealed_filing,
    settled,
    wait_for,
)


def _metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def _on_duty(run, on_duty: bool, *officials: str) -> None:  # noqa: ANN001
    """The lead of the complaint office sets the building officials on or off duty."""
    for official in officials:
        r = await run.client.patch(
            f"/api/v1/routing/departments/building/handlers/{official}",
            json={"on_duty": on_duty},
            headers=staff_headers("lead", roles=("complaint_office",)),
        )
        assert r.status_code == 200, r.text


async def test_a_filing_published_twice_is_routed_and_assigned_exactly_once(backend, caplog) -> None:
    caplog.set_level(logging.INFO, logger="minwon.routing")
    async with running(backend) as run:
        no, tag = receipt(), uuid.uuid4().hex[:8]
        filing = sealed_filing(
            run.settings,
            no,
            title=f"집 앞 불법 주차 신고 {tag}",
            body=f"비밀본문-{tag}",
            district="부산광역시 해운대구 우1동",
        )
        routed_before = _metric("minwon_routing_routed_total", department="traffic", rule="illegal-parking")
        assigned_before = _metric("minwon_routing_assigned_total", department="traffic")

        await publish(run, topics.PRIVATE, filing)
        await publish(run, topics.PRIVATE, filing)
        await wait_for(run.bus, no, c.COMPLAINT_ROUTED, c.COMPLAINT_ASSIGNED)
        await settled(run, topics.PRIVATE)
        await publish(run, topics.PRIVATE, filing)  # a replay, after everything was handled
        await settled(run, topics.PRIVATE)
        events = await routing_events(run.bus, no)

        assert [e.type for e in events] == [c.COMPLAINT_ROUTED, c.COMPLAINT_ASSIGNED]
        routed, assigned = events
        assert routed.id == derive_id(filing.id, "routed") and assigned.id == derive_id(filing.id, "assigned")
        assert routed.data["department"] == "traffic" and routed.data["department_name"] == "교통행정과"
        assert routed.data["rule_id"] == "illegal-parking" and routed.data["rule_version"] == 1
        assert "keyword '불법주차' in the title" in routed.data["reason"]
        assert routed.data["district"] == "부산광역시 해운대구 우1동" and routed.data["channel"] == "online"
        handler = assigned.data["handler"]
        assert handler["id"].startswith("traffic-") and handler["name"] and handler["contact"].startswith("051-")
        assert assigned.data["guardian"] is None and assigned.data["department"] == "traffic"
        assert handler["id"] != "traffic-03"  # off duty in the sample data

        view = (await run.client.get(f"/api/v1/routing/assignments/{no}")).json()
        assert view["status"] == "assigned" and view["handler"] == handler
        assert [s["step"] for s in view["history"]] == ["routed", "assigned"]
        # no one waited in the department: routed and assigned in one write, then the outbox cleared
        # (by a write of its own once MINWON_OUTBOX_CLEAR_AFTER_SECONDS passed with no other write)
        stored_doc = await in_app(run, run.store.collection("assignments").get, no)
        for _ in range(300):
            if not stored_doc["_outbox"]:
                break
            await asyncio.sleep(0.1)
            stored_doc = await in_app(run, run.store.collection("assignments").get, no)
        assert stored_doc["_v"] == 2 and stored_doc["_outbox"] == []
        assert await in_app(run, run.store.collection("counters").get, "queued:traffic") is None
        logged = [r for r in caplog.records if r.getMessage() == "complaint assigned" and r.receipt_no == no]
        assert [(r.department, r.handler_id, r.event_type) for r in logged] == [
            ("traffic", handler["id"], c.COMPLAINT_ASSIGNED)
        ]
        assert _metric("minwon_routing_routed_total", department="traffic", rule="illegal-parking") == routed_before + 1
        assert _metric("minwon_routing_assigned_total", department="traffic") == assigned_before + 1

        stored = json.dumps(await in_app(run, run.store.collection("assignments").find), ensure_ascii=False)
        published = json.dumps([e.to_doc() for e in events], ensure_ascii=False)
        for secret in (tag, "홍길동", "010-2345-6789", "citizen@example.kr", "우동 1번지"):
            assert secret not in stored and secret not in published


async def test_a_filing_is_routed_without_reading_its_assignment_and_a_redelivery_is_recognised(
    backend, monkeypatch
) -> None:
    """The filing is the first routing hears of a complaint: its route is written without a read first.
    Delivered again, to a process that keeps no copy, the write finds the route and nothing is repeated."""
    reads = spies.gets(monkeypatch, "assignments")
    async with running(backend) as run:
        no = receipt()
        filing = sealed_filing(run.settings, no, title="쓰레기 무단투기")
        await publish(run, topics.PRIVATE, filing)
        await wait_for(run.bus, no, c.COMPLAINT_ROUTED, c.COMPLAINT_ASSIGNED)
        await settled(run, topics.PRIVATE)
        assert no not in reads
    async with running(backend) as run:  # restarted: no copy kept
        await publish(run, topics.PRIVATE, filing)
        await settled(run, topics.PRIVATE)
        assert no in reads  # the route's create failed on the store: read, and left as it was
        assert [e.type for e in await routing_events(run.bus, no)] == [c.COMPLAINT_ROUTED, c.COMPLAINT_ASSIGNED]
        view = (await run.client.get(f"/api/v1/routing/assignments/{no}")).json()
        assert view["status"] == "assigned" and [s["step"] for s in view["history"]] == ["routed", "assigned"]


async def test_statutory_priority_complaint_waits_for_a_handler_then_goes_first(backend, monkeypatch) -> None:
    queries = spies.finds(monkeypatch, "assignments", lambda where: where.get("status") == "queued")
    async with running(backend) as run:
        await _on_duty(run, False, "building-01", "building-02", "building-03")
        ordinary, elder = receipt(), receipt()
        await publish(
            run,
            topics.PRIVATE,
            sealed_filing(run.settings, ordinary, title="허가 신청", kind="statutory", statutory_type="건축허가"),
        )
        await publish(
            run,
            topics.PRIVATE,
            sealed_filing(
                run.settings, elder, title="허가 신청", kind="statutory", statutory_type="건축신고", priority=True
            ),
        )
        await wait_for(run.bus, ordinary, c.COMPLAINT_ROUTED)
        await wait_for(run.bus, elder, c.COMPLAINT_ROUTED)
        await settled(run, topics.PRIVATE)
        queries.clear()
        await asyncio.sleep(1.0)  # five passes of the queue loop, two complaints waiting, no one on duty
        assert queries == [], "no one can take one: the waiting complaints are not queried for"

        queue = (await run.client.get("/api/v1/routing/assignments?status=queued&department=building")).json()
        assert {a["receipt_no"] for a in queue["items"]} == {ordinary, elder}
        assert _metric("minwon_routing_unassigned") >= 2
        assert not [e for e in await routing_events(run.bus, elder) if e.type == c.COMPLAINT_ASSIGNED]

        queries.clear()  # (the staff list above asks by status)
        await _on_duty(run, True, "building-02")
        first = [e for e in await wait_for(run.bus, elder, c.COMPLAINT_ASSIGNED) if e.type == c.COMPLAINT_ASSIGNED]
        second = [e for e in await wait_for(run.bus, ordinary, c.COMPLAINT_ASSIGNED) if e.type == c.COMPLAINT_ASSIGNED]
        assert len(first) == len(second) == 1
        assert first[0].time < second[0].time  # the priority complaint was assigned ahead of the queue
        for e in first + second:
            assert e.data["handler"]["id"] == "building-02"
            assert e.data["guardian"]["id"] == "building-01"  # the designated 민원후견인, not the handler
        assert first[0].data["priority"] is True and first[0].data["kind"] == "statutory"
        assert queries == [], "the queue came from the department's queue lists, read by id"

        dept = (await run.client.get("/api/v1/routing/departments/building")).json()
        assert {h["id"]: h["load"] for h in dept["handlers"]}["building-02"] == 2 and dept["queued"] == 0
        assert [a["action"] for a in dept["audit"]][-4:] == ["handler_updated"] * 4
        assert dept["audit"][-1]["actor"] == "lead"


async def test_a_complaint_missing_from_the_queue_lists_is_found_by_query_and_a_stale_entry_dropped(
    backend, monkeypatch
) -> None:
    """A crash between an assignment and its queue entry: the counter says more wait than the lists
    hold, so the department's queue is read by query once; an entry for a complaint that no longer waits
    is dropped by the pass that reads it; everyone waiting gets a handler."""
    queries = spies.finds(monkeypatch, "assignments", lambda where: where.get("status") == "queued")
    async with running(backend) as run:
        lists = RoutingStore(run.store, Relay(run.bus)).queue
        await _on_duty(run, False, "building-01", "building-02", "building-03")
        listed, lost = receipt(), receipt()
        for no in (listed, lost):
            filing = sealed_filing(run.settings, no, title="허가 신청", kind="statutory", statutory_type="건축허가")
            await publish(run, topics.PRIVATE, filing)
            await wait_for(run.bus, no, c.COMPLAINT_ROUTED)
        await settled(run, topics.PRIVATE)
        assert {e[0] for e in await in_app(run, lists.waiting, "building")} == {listed, lost}

        await in_app(run, lists.remove, "building", [lost])  # its entry lost in a crash
        gone = receipt()  # an entry whose complaint waits no more (or never reached this store)
        await in_app(run, lists.add, "building", [(gone, True, "2026-01-01T00:00:00+09:00", "")])
        queries.clear()
        await _on_duty(run, True, "building-02")
        for no in (listed, lost):
            assigned = [e for e in await wait_for(run.bus, no, c.COMPLAINT_ASSIGNED) if e.type == c.COMPLAINT_ASSIGNED]
            assert len(assigned) == 1 and assigned[0].data["handler"]["id"] == "building-02"
        assert await in_app(run, lists.waiting, "building") == []
        # the lists held two (one stale) for two waiting: read by id; once the stale one was dropped,
        # one waited that no list named: one query
        assert len(queries) == 1, queries


async def test_closing_releases_the_load_and_an_early_release_prevents_routing(backend) -> None:
    async with running(backend) as run:
        no = receipt()
        await publish(run, topics.PRIVATE, sealed_filing(run.settings, no, title="쓰레기 무단투기"))
        events = await wait_for(run.bus, no, c.COMPLAINT_ASSIGNED)
        official = events[-1].data["handler"]["id"]
        load = lambda d: {h["id"]: h["load"] for h in d["handlers"]}[official]  # noqa: E731
        assert load((await run.client.get("/api/v1/routing/departments/waste")).json()) == 1

        closed = lifecycle(c.COMPLAINT_CLOSED, no)
        await publish(run, topics.COMPLAINTS, closed)
        await publish(run, topics.COMPLAINTS, closed)
        gone = receipt()  # withdrawn before its filing reached routing
        await publish(run, topics.COMPLAINTS, lifecycle(c.COMPLAINT_WITHDRAWN, gone))
        await settled(run, topics.COMPLAINTS)
        await publish(run, topics.PRIVATE, sealed_filing(run.settings, gone, title="쓰레기 무단투기"))
        await settled(run, topics.PRIVATE)

        assert load((await run.client.get("/api/v1/routing/departments/waste")).json()) == 0
        view = (await run.client.get(f"/api/v1/routing/assignments/{no}")).json()
        assert view["status"] == "closed" and view["closed_by"] == "closed"
        assert [s["step"] for s in view["history"]] == ["routed", "assigned", "released"]
        assert await routing_events(run.bus, gone) == []
        assert (await run.client.get(f"/api/v1/routing/assignments/{gone}")).json()["closed_by"] == "withdrawn"


async def test_reassignment_to_another_department_is_published_and_counted_as_a_misroute(backend) -> None:
    async with running(backend) as run:
        no = receipt()
        await publish(run, topics.PRIVATE, sealed_filing(run.settings, no, title="불법주차 차량이 보도를 막음"))
        first = (await wait_for(run.bus, no, c.COMPLAINT_ASSIGNED))[-1].data["handler"]
        misroutes_before = _metric("minwon_routing_misroutes_total", rule="illegal-parking")

        key = {"Idempotency-Key": str(uuid.uuid4()), **staff_headers("triage-kim", roles=("complaint_office",))}
        body = {"department": "road", "reason": "보도 파손이 주된 내용"}
        r1 = await run.client.post(f"/api/v1/routing/assignments/{no}/reassign", json=body, headers=key)
        r2 = await run.client.post(f"/api/v1/routing/assignments/{no}/reassign", json=body, headers=key)
        assert r1.status_code == r2.status_code == 200, r1.text
        assert r1.json() == r2.json() and r1.json()["department"] == "road"

        events = await wait_for(run.bus, no, c.COMPLAINT_REASSIGNED)
        assert [e.type for e in events] == [c.COMPLAINT_ROUTED, c.COMPLAINT_ASSIGNED, c.COMPLAINT_REASSIGNED]
        moved = events[-1].data
        assert moved["department"] == "road" and moved["handler"]["id"].startswith("road-")
        assert moved["previous"] == {"department": "traffic", "handler": first}
        assert moved["misroute"]["rule_id"] == "illegal-parking" and moved["reason_code"] == "misrouted"
        assert moved["actor"] == "triage-kim" and "보도 파손" not in json.dumps(moved, ensure_ascii=False)

        history = (await run.client.get(f"/api/v1/routing/assignments/{no}")).json()["history"]
        assert [s["step"] for s in history] == ["routed", "assigned", "reassignment_requested", "reassigned"]
        assert history[2]["reason"] == "보도 파손이 주된 내용" and history[2]["actor"] == "triage-kim"

        within = await run.client.post(
            f"/api/v1/routing/assignments/{no}/reassign", json={"handler": "road-01", "reason": "전문성"}
        )
        if moved["handler"]["id"] == "road-01":
            assert within.status_code == 409
        else:
            assert within.status_code == 200 and within.json()["handler"]["id"] == "road-01"

        stats = {s["rule_id"]: s for s in (await run.client.get("/api/v1/routing/rules/stats")).json()["items"]}
        assert stats["illegal-parking"]["hits"] == 1 and stats["illegal-parking"]["misroutes"] == 1
        assert stats["road-damage"]["hits"] == 0
        assert _metric("minwon_routing_misroutes_total", rule="illegal-parking") == misroutes_before + 1

        bad = await run.client.post(
            f"/api/v1/routing/assignments/{no}/reassign", json={"department": "nowhere", "reason": "x"}
        )
        assert bad.status_code == 422 and bad.json()["fields"][0]["field"] == "department"
        missing = await run.client.post(f"/api/v1/routing/assignments/{no}/reassign", json={"department": "road"})
        assert missing.status_code == 422 and missing.json()["fields"][0]["field"] == "reason"
        unknown = await run.client.post(
            f"/api/v1/routing/assignments/{receipt()}/reassign", json={"department": "road", "reason": "x"}
        )
        assert unknown.status_code == 404

        async def counters() -> dict[str, int]:
            docs = await run.store.collection("counters").find({})
            return {d["_id"]: d["n"] for d in docs if d["n"]}

        async def recount() -> None:
            await RoutingStore(run.store, Relay(run.bus)).recount(force=True)

        kept = await in_app(run, counters)  # moved with each assignment, never counted per event
        assert kept.get(f"load:{first['id']}", 0) == 0 and kept["load:road-01"] == 1
        await in_app(run, recount)
        assert await in_app(run, counters) == kept

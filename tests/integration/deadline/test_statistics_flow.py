"""Processing statistics on both backends: a hand-computed set of complaints (closed on time, closed
late, open, overdue, withdrawn, rerouted) through the service's handlers, then the API's figures, the
department scope, a redelivered fact, the XLSX and CSV exports and the public figures."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from litestar.testing import AsyncTestClient
from openpyxl import load_workbook

from minwon import contracts as c
from minwon.events import Event, derive_id
from minwon.host import Infrastructure, create_app
from tests import samples
from tests.factories import STAFF, staff_headers
from tests.integration.deadline.harness import (
    MovableClock,
    assigned,
    complaint_event,
    deadlines_for,
    feed,
    receipt,
    received,
)

KST = ZoneInfo("Asia/Seoul")


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2030, month, day, hour, minute, tzinfo=KST)


def filed(receipt_no: str, when: datetime, *, category: str, channel: str) -> Event:
    """complaint.received (a 7-day grievance) with its category."""
    event = received(receipt_no, when, channel=channel)
    return event.model_copy(update={"data": {**event.data, "category": category}})


def reassigned(receipt_no: str, when: datetime, department: str, name: str) -> Event:
    return Event.new(
        c.COMPLAINT_REASSIGNED,
        id=derive_id(receipt_no, "reassigned"),
        source="/test/routing",
        subject=receipt_no,
        time=when,
        data=samples.shaped(
            c.COMPLAINT_REASSIGNED,
            receipt_no=receipt_no,
            department=department,
            department_name=name,
            occurred_at=when.isoformat(),
            handler={"id": "h-9", "name": "이담당", "contact": "051-000-0009"},
        ),
    )


def closed(receipt_no: str, when: datetime, type: str = c.COMPLAINT_CLOSED) -> Event:
    return complaint_event(type, receipt_no, when, type.rsplit(".", 2)[-2])


def _app(svc, bus, store):
    return create_app([svc], Infrastructure(bus=bus, stores={"deadline": store}))


async def test_statistics_equal_the_hand_computed_figures(backend) -> None:
    store, bus = backend.store("deadline"), backend.bus()
    clock = MovableClock(at(2, 20, 9))
    deadlines, _ = deadlines_for(backend, store, bus, clock)
    await bus.start()
    await deadlines.start()
    a, b, cc, d, e, f, g, h = (receipt() for _ in range(8))

    async def route(no: str, when: datetime, department: str) -> None:
        event = assigned(no, when, department=department)
        name = {"road": "도로과", "water": "상수도과"}[department]
        await feed(bus, deadlines, event.model_copy(update={"data": {**event.data, "department_name": name}}))

    # F (Feb, water, online): received Wed 20 Feb, closed Thu 21 Feb -> on time, 2 working days
    await feed(bus, deadlines, filed(f, at(2, 20, 10), category="상수도", channel="online"))
    await route(f, at(2, 20, 11), "water")
    await feed(bus, deadlines, closed(f, at(2, 21, 16)))

    clock.now = at(3, 4, 10)  # Mon 4 Mar: a 7-day grievance received today is due Tue 12 Mar 18:00
    await feed(bus, deadlines, filed(a, at(3, 4, 10), category="도로", channel="online"))
    await feed(bus, deadlines, filed(b, at(3, 4, 10), category="도로", channel="phone"))
    await feed(bus, deadlines, filed(d, at(3, 4, 10), category="상수도", channel="visit"))
    await feed(bus, deadlines, filed(e, at(3, 4, 10), category="상수도", channel="online"))
    for no, dep in ((a, "road"), (b, "road"), (d, "water"), (e, "water")):
        await route(no, at(3, 4, 11), dep)
    await feed(bus, deadlines, filed(cc, at(3, 5, 9, 30), category="도로", channel="online"))  # due Wed 13 18:00
    await route(cc, at(3, 5, 10), "road")
    await feed(bus, deadlines, filed(h, at(3, 6, 10), category="상수도", channel="phone"))  # due Thu 14 18:00
    await route(h, at(3, 6, 10), "road")
    await feed(bus, deadlines, reassigned(h, at(3, 6, 15), "water", "상수도과"))  # moves to water's cell
    await feed(bus, deadlines, closed(e, at(3, 6, 12), c.COMPLAINT_WITHDRAWN))
    await feed(bus, deadlines, closed(a, at(3, 8, 15)))  # Fri 8: on time, 5 working days

    # Wed 13 Mar 11:00: B and D are past their due time; the timer signals the breach
    clock.now = at(3, 13, 11)
    while await deadlines.fire_due():
        pass
    middle = await deadlines.statistics(group_by="department", first="2030-02", last="2030-03", department=None)
    assert {g["key"]: g["overdue"] for g in middle["groups"]} == {"road": 1, "water": 1}

    await feed(bus, deadlines, closed(b, at(3, 13, 11)))  # late, 8 working days (Mon 4 .. Wed 13)
    await feed(bus, deadlines, closed(b, at(3, 13, 11)))  # redelivered: counted once
    await feed(bus, deadlines, filed(g, at(3, 13, 10), category="도로", channel="online"))
    await route(g, at(3, 13, 10), "road")
    await feed(bus, deadlines, closed(g, at(3, 13, 12)))  # on time, 1 working day
    clock.now = at(3, 13, 13, 30)
    while await deadlines.fire_due():
        pass

    # a recount from the clocks (a repair) gives the counters kept event by event, cell for cell
    span = {"first": "2030-02", "last": "2030-03", "department": None}
    kept = {by: await deadlines.statistics(group_by=by, **span) for by in ("department", "month", "channel")}
    shards = await store.collection("statistics").find({}, sort=[("_id", 1)])
    lost = shards[0]  # a counter write lost to a crash between the clock and the cell
    await store.collection("statistics", deletes=True).delete(lost["_id"])
    received_total = (await deadlines.statistics(group_by="month", **span))["total"]["received"]
    assert received_total == kept["month"]["total"]["received"] - lost["counts"]["received"]
    # cells: Feb water/online (F); Mar road/online (A, C, G), road/phone (B), water/visit (D),
    # water/online (E), water/phone (H)
    assert await deadlines.recount_statistics(page_size=3) == 6
    assert {by: await deadlines.statistics(group_by=by, **span) for by in kept} == kept
    # the recount put the sums in one document per cell and emptied the shards, deleting none: their
    # versions only grew, so the copies the running service keeps stay safe bases for its next counts
    after = {d["_id"]: d for d in await store.collection("statistics").find({})}
    for shard in shards[1:]:
        assert not any(after[shard["_id"]]["counts"].values()) and after[shard["_id"]]["_v"] > shard["_v"]
    await bus.stop()
    # the API runs on the test client's own loop: a service of its own over the same database
    api_store, api_bus = backend.store("deadline"), backend.bus()
    _, svc = deadlines_for(backend, api_store, api_bus, clock)
    async with AsyncTestClient(_app(svc, api_bus, api_store)) as client:
        client.headers.update(STAFF)
        span = {"from": "2030-02", "to": "2030-03"}

        r = await client.get("/api/v1/deadlines/statistics", params={**span, "group_by": "department"})
        assert r.status_code == 200, r.text
        body = r.json()
        road, water = body["groups"]
        assert (road["key"], road["label"], water["key"], water["label"]) == ("road", "도로과", "water", "상수도과")
        # road: A (5 days, on time), B (8, late), G (1, on time), C open; H moved to water
        assert _figures(road) == dict(
            received=4,
            closed=3,
            on_time=2,
            late=1,
            on_time_rate=0.6667,
            mean_days=4.67,
            p90_days=8,
            backlog=1,
            overdue=0,
            withdrawn=0,
            transferred=0,
        )
        # water: F (2 days, on time), D open and overdue, H open, E withdrawn
        assert _figures(water) == dict(
            received=4,
            closed=1,
            on_time=1,
            late=0,
            on_time_rate=1.0,
            mean_days=2.0,
            p90_days=2,
            backlog=2,
            overdue=1,
            withdrawn=1,
            transferred=0,
        )
        assert _figures(body["total"]) == dict(
            received=8,
            closed=4,
            on_time=3,
            late=1,
            on_time_rate=0.75,
            mean_days=4.0,
            p90_days=8,
            backlog=3,
            overdue=1,
            withdrawn=1,
            transferred=0,
        )

        by_month = (await client.get("/api/v1/deadlines/statistics", params={**span, "group_by": "month"})).json()
        assert [
            (
                m["key"],
                m["received"],
                m["closed"],
                m["on_time_rate"],
                m["mean_days"],
                m["p90_days"],
                m["backlog"],
                m["overdue"],
            )
            for m in by_month["groups"]
        ] == [("2030-02", 1, 1, 1.0, 2.0, 2, 0, 0), ("2030-03", 7, 3, 0.6667, 4.67, 8, 3, 1)]

        by_channel = (await client.get("/api/v1/deadlines/statistics", params={**span, "group_by": "channel"})).json()
        assert [
            (
                x["key"],
                x["received"],
                x["closed"],
                x["on_time_rate"],
                x["mean_days"],
                x["p90_days"],
                x["backlog"],
                x["overdue"],
                x["withdrawn"],
            )
            for x in by_channel["groups"]
        ] == [
            ("online", 5, 3, 1.0, 2.67, 5, 1, 0, 1),
            ("phone", 2, 1, 0.0, 8.0, 8, 1, 0, 0),
            ("visit", 1, 0, None, None, None, 1, 1, 0),
        ]

        by_category = (await client.get("/api/v1/deadlines/statistics", params={**span, "group_by": "category"})).json()
        assert {x["key"]: (x["received"], x["backlog"]) for x in by_category["groups"]} == {
            "도로": (4, 1),
            "상수도": (4, 2),
        }

        only_march = (
            await client.get("/api/v1/deadlines/statistics", params={"from": "2030-03", "to": "2030-03"})
        ).json()
        assert only_march["total"]["received"] == 7 and only_march["total"]["mean_days"] == 4.67

        # an official of the road department sees road's figures only, whatever they ask
        road_handler = staff_headers("h-17", department="road", roles=("handler",))
        scoped = (
            await client.get(
                "/api/v1/deadlines/statistics", headers=road_handler, params={**span, "department": "water"}
            )
        ).json()
        assert [g["key"] for g in scoped["groups"]] == ["road"] and scoped["total"]["received"] == 4

        for params, field in (
            ({"group_by": "handler"}, "group_by"),
            ({"from": "2030-13"}, "from"),
            ({"to": "March"}, "to"),
            ({"from": "2030-04", "to": "2030-03"}, "from"),
        ):
            bad = await client.get("/api/v1/deadlines/statistics", params=params)
            assert bad.status_code == 422, (params, bad.text)
            assert field in [x["field"] for x in bad.json()["fields"]], bad.json()

        xlsx = await client.get("/api/v1/deadlines/statistics.xlsx", params={**span, "group_by": "department"})
        assert xlsx.status_code == 200, xlsx.text
        assert "attachment" in xlsx.headers["content-disposition"]
        sheet = load_workbook(io.BytesIO(xlsx.content))["처리 통계"]
        rows = [list(r) for r in sheet.iter_rows(values_only=True)]
        assert rows[0][:3] == ["부서", "접수", "처리완료"]
        assert rows[1] == ["도로과", 4, 3, 2, 1, 0.6667, 4.67, 8, 1, 0, 0, 0]
        assert rows[2] == ["상수도과", 4, 1, 1, 0, 1, 2, 2, 2, 1, 1, 0]
        assert rows[3] == ["합계", 8, 4, 3, 1, 0.75, 4, 8, 3, 1, 1, 0]

        csv = await client.get("/api/v1/deadlines/statistics.csv", params={**span, "group_by": "month"})
        assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
        lines = csv.content.decode("utf-8-sig").splitlines()
        assert lines[0].startswith("접수 월,접수,처리완료") and lines[1] == "2030-02,1,1,1,0,1.0,2.0,2,0,0,0,0"

        # staff only; the public figures need no identity and name no one
        client.headers.pop("Authorization", None)
        assert (await client.get("/api/v1/deadlines/statistics")).status_code == 401
        public = await client.get("/api/v1/deadlines/statistics/public", params={"year": 2030, "group_by": "month"})
        assert public.status_code == 200, public.text
        assert [(m["key"], m["received"]) for m in public.json()["groups"]] == [("2030-02", 1), ("2030-03", 7)]
        text = public.text
        assert all(secret not in text for secret in ("김담당", "이담당", "051-000", a, "ref-"))


def _figures(group: dict) -> dict:
    return {
        k: group[k]
        for k in (
            "received",
            "closed",
            "on_time",
            "late",
            "on_time_rate",
            "mean_days",
            "p90_days",
            "backlog",
            "overdue",
            "withdrawn",
            "transferred",
        )
    }


def test_the_fixture_dates_are_what_the_figures_assume() -> None:
    """The hand computation's calendar facts (no holiday in these weeks of 2030)."""
    from minwon.workcal import WorkCalendar

    cal = WorkCalendar()
    days = [at(3, 4, 0).date() + timedelta(days=n) for n in range(10)]
    assert [cal.is_working_day(x) for x in days] == [True] * 5 + [False, False] + [True] * 3
    assert cal.is_working_day(at(2, 20, 0).date()) and cal.is_working_day(at(2, 21, 0).date())

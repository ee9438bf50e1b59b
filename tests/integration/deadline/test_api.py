"""The deadline service's HTTP API, in the app the host builds, on both backends."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from litestar.testing import AsyncTestClient

from apps.host import Infrastructure, create_app
from minwon import topics
from tests.factories import STAFF, staff_headers
from tests.integration.deadline.harness import (
    MovableClock,
    assigned,
    deadlines_for,
    receipt,
    received,
    wait_for,
)

KST = ZoneInfo("Asia/Seoul")
NOW = datetime(2030, 3, 13, 13, 30, tzinfo=KST)  # Wednesday


def _app(backend, store, bus, clock):
    _, svc = deadlines_for(backend, store, bus, clock)
    return create_app([svc], Infrastructure(bus=bus, stores={"deadline": store}))


async def test_preview_answers_like_the_cli_and_names_the_field_it_refuses(backend) -> None:
    store, bus = backend.store("deadline"), backend.bus()
    async with AsyncTestClient(_app(backend, store, bus, MovableClock(NOW))) as client:
        client.headers.update(STAFF)
        ok = await client.post(
            "/api/v1/deadlines/preview",
            json={
                "received_at": "2026-03-10T10:00:00+09:00",
                "kind": "grievance",
                "pauses": [{"start": "2026-03-11T10:00:00+09:00", "end": "2026-03-13T10:00:00+09:00"}],
                "extend": "3d",
            },
        )
        assert ok.status_code == 200, ok.text
        assert ok.json()["due_at"] == "2026-03-24T18:00:00+09:00" and ok.json()["basis"] == "days"
        assert [x["level"] for x in ok.json()["ladder"]] == [1, 2, 3]
        by_period = await client.post(
            "/api/v1/deadlines/preview", json={"received_at": "2026-03-10T10:00:00+09:00", "period": "40h"}
        )
        assert by_period.json()["due_at"] == "2026-03-17T10:00:00+09:00" and by_period.json()["kind"] is None

        cases = [
            ({"received_at": "2026-03-10T10:00:00+09:00", "kind": "gossip"}, "kind"),
            ({"received_at": "2026-03-10T10:00:00+09:00"}, "kind"),
            ({"received_at": "next tuesday", "kind": "grievance"}, "received_at"),
            ({"received_at": "2026-03-10T10:00:00", "kind": "grievance"}, "received_at"),
            ({"received_at": "2026-03-10T10:00:00+09:00", "period": "3 weeks"}, "period"),
            (
                {
                    "received_at": "2026-03-10T10:00:00+09:00",
                    "kind": "grievance",
                    "pauses": [{"start": "2026-03-11T10:00:00+09:00", "end": "2026-03-11T09:00:00+09:00"}],
                },
                "pauses[0].end",
            ),
            ({"received_at": "2026-03-10T10:00:00+09:00", "kind": "grievance", "extend": "30d"}, "extend"),
            (
                {"received_at": "2026-03-10T10:00:00+09:00", "kind": "statutory", "statutory_type": "x"},
                "statutory_type",
            ),
            ({"received_at": "9999-12-31T23:00:00-10:00", "kind": "grievance"}, "received_at"),
            ({"received_at": "0001-01-01T00:00:00+09:00", "kind": "grievance"}, "received_at"),
            (
                {
                    "received_at": "2026-03-10T10:00:00+09:00",
                    "kind": "grievance",
                    "pauses": [{"start": "2026-03-11T10:00:00+09:00", "end": "9999-12-31T23:59:59-12:00"}],
                },
                "pauses[0].end",
            ),
        ]
        for body, field in cases:
            r = await client.post("/api/v1/deadlines/preview", json=body)
            assert r.status_code == 422, (body, r.text)
            assert field in [f["field"] for f in r.json()["fields"]], (body, r.json())


async def test_a_clock_its_remaining_time_the_overdue_list_and_holidays(backend) -> None:
    clock = MovableClock(NOW)
    store, bus = backend.store("deadline"), backend.bus()
    producer = backend.bus()  # the test client runs the app on its own event loop: publish through another bus
    late, fresh = receipt(), receipt()
    async with AsyncTestClient(_app(backend, store, bus, clock)) as client:
        client.headers.update(STAFF)
        # received Monday 10:00, a 7-day grievance: due Tue the 12th 18:00 (overdue now);
        # another received today: due Thu the 21st
        await producer.publish(
            topics.ROUTING, assigned(late, datetime(2030, 3, 4, 11, 0, tzinfo=KST), department="road")
        )
        await producer.publish(topics.COMPLAINTS, received(late, datetime(2030, 3, 4, 10, 0, tzinfo=KST)))
        await producer.publish(topics.COMPLAINTS, received(fresh, datetime(2030, 3, 13, 10, 0, tzinfo=KST)))

        async def breached():
            r = await client.get(f"/api/v1/deadlines/{late}")
            names = [s["name"] for s in r.json()["signals"]["emitted"]] if r.status_code == 200 else []
            # the assignment came on another topic, which keeps no order with the receipt's
            return r.json() if "escalation.2" in names and r.json().get("handler") else None

        view = await wait_for(breached)
        assert view["due_at"] == "2030-03-12T18:00:00+09:00" and view["overdue"] is True
        assert view["remaining"] == {"working_hours": -3.5, "label": "D+1 / -3.5h"}
        assert view["escalation_level"] == 2 and view["handler"]["id"] == "h-17"
        assert view["next_fire_at"] == "2030-03-14T09:00:00+09:00"  # escalation 3: a working day after the due day

        async def fresh_view():
            r = await client.get(f"/api/v1/deadlines/{fresh}")
            return r.json() if r.status_code == 200 else None

        other = await wait_for(fresh_view)
        assert other["remaining"] == {"working_hours": 52.5, "label": "D-6 / 52.5h"}
        assert other["overdue"] is False and other["signals"]["emitted"] == []

        overdue = (await client.get("/api/v1/deadlines?overdue=true")).json()["items"]
        assert [x["receipt_no"] for x in overdue] == [late]
        assert (await client.get("/api/v1/deadlines?overdue=true&department=road")).json()["items"][0]["overdue"]
        assert (await client.get("/api/v1/deadlines?overdue=true&department=water")).json()["items"] == []
        page = (await client.get("/api/v1/deadlines?limit=1")).json()
        assert len(page["items"]) == 1 and page["next_cursor"] == page["items"][0]["receipt_no"]
        assert (await client.get("/api/v1/deadlines/2030-NOPE-0000000")).status_code == 404
        assert (await client.get("/api/v1/deadlines?limit=0")).status_code in (400, 422)

        # 임시공휴일 on Monday the 18th: the fresh clock moves a day, the overdue one does not
        holiday = {"date": "2030-03-18", "name": "임시공휴일"}
        assert (
            await client.post("/api/v1/deadlines/calendar/holidays", json=holiday, headers={"Authorization": ""})
        ).status_code == 401
        handler = staff_headers("road-01", department="road", roles=("handler",))
        assert (
            await client.post("/api/v1/deadlines/calendar/holidays", json=holiday, headers=handler)
        ).status_code == 403
        added = await client.post(
            "/api/v1/deadlines/calendar/holidays", json=holiday, headers=staff_headers("admin-1", roles=("admin",))
        )
        assert added.status_code == 201 and added.json()["actor"] == "admin-1"
        again = await client.post("/api/v1/deadlines/calendar/holidays", json=holiday, headers=STAFF)
        assert again.status_code == 200
        bad = await client.post(
            "/api/v1/deadlines/calendar/holidays", json={"date": "18 March", "name": "x"}, headers=STAFF
        )
        assert bad.status_code == 422 and bad.json()["fields"][0]["field"] == "date"

        async def recomputed():
            items = (await client.get("/api/v1/deadlines/calendar/holidays")).json()["items"]
            return items if items and items[0]["recompute"]["status"] == "done" else None

        items = await wait_for(recomputed)
        assert items[0]["recompute"]["changed"] == 1 and items[0]["weekday"] == "Mon"
        assert (await client.get(f"/api/v1/deadlines/{fresh}")).json()["due_at"] == "2030-03-22T18:00:00+09:00"
        assert (await client.get(f"/api/v1/deadlines/{late}")).json()["due_at"] == "2030-03-12T18:00:00+09:00"
        clock.advance(timedelta(days=1))
        metrics = (await client.get("/metrics")).text
        assert "minwon_deadline_open_clocks" in metrics and "minwon_deadline_timer_lateness_seconds_bucket" in metrics
    await producer.stop()


async def test_the_statutory_type_catalogue_is_served_publicly_and_either_name_gives_the_same_clock(backend) -> None:
    store, bus = backend.store("deadline"), backend.bus()
    async with AsyncTestClient(_app(backend, store, bus, MovableClock(NOW))) as client:
        listed = await client.get("/api/v1/deadlines/statutory-types")  # no identity: the filing forms use it
        assert listed.status_code == 200
        items = listed.json()["items"]
        assert len(items) >= 20 and all(i["name_ko"] and i["period"] for i in items)
        found = (await client.get("/api/v1/deadlines/statutory-types", params={"q": "건축 허가"})).json()["items"]
        assert [i["code"] for i in found] == ["building_permit"] and found[0]["department_hint"] == "building"
        dues = set()
        for name in ("building_permit", "건축허가"):
            r = await client.post(
                "/api/v1/deadlines/preview",
                headers=STAFF,
                json={"received_at": "2026-03-10T10:00:00+09:00", "kind": "statutory", "statutory_type": name},
            )
            assert r.status_code == 200, r.text
            dues.add(r.json()["due_at"])
        assert len(dues) == 1

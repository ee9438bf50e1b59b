"""The lifecycle rules agree across services: each story of issue 14's "Why" as a regression test on
both backends, asserting what the citizen is told and what the clocks and the ledger say."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

from tests.e2e.test_flows import (
    STAFF,
    MovableClock,
    _breached,
    _grants,
    _intake_knows_the_clock,
    _json,
    _signals,
    notices,
    quick,  # noqa: F401 - the fixture every test here uses (pytestmark)
    running,
    until,
)
from tests.factories import complaint_payload

pytestmark = pytest.mark.usefixtures("quick")


async def _filed(client, **payload) -> dict:
    r = await client.post("/api/v1/complaints", json=complaint_payload(**payload))
    assert r.status_code == 201, r.text
    return r.json()


async def _clock(client, receipt):
    return await _json(client, f"/api/v1/deadlines/{receipt}")


async def test_a_statutory_type_filed_by_code_or_korean_name_gets_the_same_department_and_due_date(backend) -> None:
    clock = MovableClock()
    async with running(backend, clock) as (client, _):
        by_name = await _filed(client, kind="statutory", statutory_type="건축허가", title="건축허가 신청")
        by_code = await _filed(client, kind="statutory", statutory_type="building_permit", title="건축허가 신청")
        views = []
        for filed in (by_name, by_code):
            view = await until(lambda f=filed: _routed_with_clock(client, f["receipt_no"]))
            views.append(view)
        assert views[0]["department"] == views[1]["department"] == "building"
        assert views[0]["due_at"] == views[1]["due_at"] and views[0]["due_at"]
        unknown = await client.post(
            "/api/v1/complaints", json=complaint_payload(kind="statutory", statutory_type="건축허거")
        )
        assert unknown.status_code == 422 and unknown.json()["fields"][0]["field"] == "statutory_type"
        assert "building_permit" in unknown.text


async def _routed_with_clock(client, receipt):
    view = await _json(client, f"/api/v1/complaints/{receipt}", headers=STAFF)
    clock = await _clock(client, receipt)
    if view and view.get("department") and clock and clock.get("due_at"):
        return {"department": view["department"], "due_at": clock["due_at"]}
    return None


async def test_an_extension_longer_than_the_period_is_refused_at_the_request_and_nothing_is_sent(backend) -> None:
    clock = MovableClock()
    async with running(backend, clock) as (client, _):
        filed = await _filed(client, kind="grievance")  # 7 days
        receipt = filed["receipt_no"]
        await until(lambda: _intake_knows_the_clock(client, receipt))
        refused = await client.post(
            f"/api/v1/complaints/{receipt}/extend", headers=STAFF, json={"reason": "현장 조사", "period": "30d"}
        )
        assert refused.status_code == 422 and refused.json()["fields"][0]["field"] == "period"
        granted = await client.post(
            f"/api/v1/complaints/{receipt}/extend", headers=STAFF, json={"reason": "현장 조사", "period": "7d"}
        )
        assert granted.status_code == 200, granted.text  # the refused one did not count
        state = await until(lambda: _extended_once(client, receipt))
        assert state["extensions"][0]["by"] == "7d"
        sent = await until(lambda: _notices(client, receipt, "citizen.extension"))
        await asyncio.sleep(1.0)
        assert len(await notices(client, receipt, "citizen.extension")) == 1
        assert "30일" not in sent[0].get("text", "")


async def _extended_once(client, receipt):
    state = await _clock(client, receipt)
    return state if state and len(state["extensions"]) == 1 else None


async def _notices(client, receipt, template):
    return [n for n in await notices(client, receipt, template) if n["status"] == "sent"] or None


async def test_a_supplementation_requested_after_the_deadline_keeps_the_breach_and_the_voucher(backend) -> None:
    clock = MovableClock()
    async with running(backend, clock) as (client, infra):
        filed = await _filed(
            client,
            kind="grievance",
            channel="mail",
            received_at_reason="우편 접수 후 등록 지연",
            received_at=(clock() - timedelta(days=20)).isoformat(),
        )
        receipt = filed["receipt_no"]
        await until(lambda: _breached(infra, receipt))
        late = await client.post(
            f"/api/v1/complaints/{receipt}/supplementation", headers=STAFF, json={"reason": "현장 사진 보완"}
        )
        assert late.status_code == 200
        state = await until(lambda: _paused_and_overdue(client, receipt))
        assert state["breached_at"]
        overdue = await _json(client, "/api/v1/deadlines?overdue=true&limit=200", headers=STAFF)
        assert receipt in {c["receipt_no"] for c in overdue["items"]}
        clock.advance(timedelta(hours=1))  # past compensation's settle time
        [grant] = await until(lambda: _grants(client, receipt))
        assert grant["amount_krw"] == 10000


async def _paused_and_overdue(client, receipt):
    state = await _clock(client, receipt)
    return state if state and state["paused"] and state["overdue"] else None


async def test_a_mail_complaint_registered_days_late_records_the_forwarding_miss(backend) -> None:
    clock = MovableClock()
    async with running(backend, clock) as (client, infra):
        filed = await _filed(
            client,
            kind="grievance",
            channel="mail",
            received_at_reason="우편 접수 후 등록 지연",
            received_at=(clock() - timedelta(days=3)).isoformat(),
        )
        receipt = filed["receipt_no"]

        async def missed():
            found = [e for e in await _signals(infra, receipt) if e.type == "kr.minwon.deadline.sla_missed.v1"]
            return {e.data["sla"] for e in found} >= {"forwarding", "assignment"} and found

        await until(missed)


async def test_a_complaint_about_the_service_signals_the_stage_it_missed(backend) -> None:
    clock = MovableClock()
    async with running(backend, clock) as (client, infra):
        filed = await _filed(client, kind="service_complaint")
        receipt = filed["receipt_no"]
        await until(lambda: _clock(client, receipt))
        clock.advance(timedelta(days=6))  # more than 3 working days, not acknowledged

        async def stage_missed():
            return [
                e
                for e in await _signals(infra, receipt)
                if e.type == "kr.minwon.deadline.sla_missed.v1" and e.data.get("stage") == "investigate"
            ]

        [signal] = await until(stage_missed)
        assert signal.data["sla"] == "stage.investigate"


async def test_a_transfer_tells_the_citizen_where_and_why_and_agencies_which_agency(backend) -> None:
    from minwon import contracts as c
    from minwon import topics

    clock = MovableClock()
    async with running(backend, clock) as (client, infra):
        filed = await _filed(client, kind="grievance", title="고속도로 소음", body="고속도로 방음벽 설치 요청")
        receipt = filed["receipt_no"]
        await until(lambda: _intake_knows_the_clock(client, receipt))
        moved = await client.post(
            f"/api/v1/complaints/{receipt}/transfer",
            headers=STAFF,
            json={"agency": "molit", "agency_name": "국토교통부", "reason": "고속도로 시설은 국토교통부 소관입니다"},
        )
        assert moved.status_code == 200 and moved.json()["status"] == "transferred"
        [notice] = await until(lambda: _notices(client, receipt, "citizen.transferred"))
        assert notice["status"] == "sent"
        clock_state = await until(lambda: _closed_clock(client, receipt))
        assert clock_state["closed_at"]

        from services.notification.agencies.public import pseudonym

        complaint_id = pseudonym(receipt, b"minwon-development-public-id-secret")

        async def published():
            return [
                e
                async for _, e in infra.bus.read([topics.PUBLIC])
                if e.type == c.PUBLIC_COMPLAINT_TRANSFERRED and e.subject == complaint_id
            ]

        [public] = await until(published)
        assert public.data["agency"] == "molit"
        assert "소관" not in public.to_json().decode() and receipt not in public.to_json().decode()


async def _closed_clock(client, receipt):
    state = await _clock(client, receipt)
    return state if state and state.get("closed_at") else None


async def test_the_30_day_progress_notice_never_promises_a_date_already_past(backend) -> None:
    clock = MovableClock()
    async with running(backend, clock) as (client, _):
        filed = await _filed(client, kind="inquiry_law")  # 14 days: due long before the 30-day notice
        receipt = filed["receipt_no"]
        await until(lambda: _intake_knows_the_clock(client, receipt))
        # 30 calendar days, moved to the next working time: past a New Year's holiday and a weekend
        # when filed around the first of December, so the clock is moved to the notice's own time
        state = await _clock(client, receipt)
        [at] = [s["at"] for s in state["signals"]["pending"] if s["name"] == "progress_notice.30d"]
        clock.advance(datetime.fromisoformat(at) - clock.now + timedelta(minutes=1))
        [notice] = await until(lambda: _notices(client, receipt, "citizen.progress"), timeout=90)
        assert "기한 경과" in notice["text"], notice["text"]

"""The whole system over its HTTP API, on both backends (embedded SQLite; Kafka + MongoDB-wire).

All six services run in one app around a shared clock the test can move, so a
complaint can be filed two days ago and breached "sixty days later" in seconds.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from apps.host import SERVICES, Infrastructure, build_services, create_app
from minwon import topics
from tests.factories import STAFF, complaint_payload

QUICK_ENV = {
    "MINWON_NOTIFICATION_QUIET_ON_NON_WORKING_DAYS": "false",
    "MINWON_NOTIFICATION_QUIET_START": "00:00:00",
    "MINWON_NOTIFICATION_QUIET_END": "00:00:00",
    "MINWON_NOTIFICATION_DELIVER_INTERVAL_SECONDS": "0.2",
    "MINWON_NOTIFICATION_SENDING_LEASE_SECONDS": "2",
    "MINWON_SURVEY_INVITE_DELAY_SECONDS": "0",
    "MINWON_SURVEY_LOOP_INTERVAL_SECONDS": "0.2",
    "MINWON_COMPENSATION_LOOP_INTERVAL_SECONDS": "0.2",
    "MINWON_COMPENSATION_BREACH_SETTLE_SECONDS": "0",
}


class MovableClock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@pytest.fixture
def quick(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in QUICK_ENV.items():
        monkeypatch.setenv(key, value)


@asynccontextmanager
async def running(backend, clock: Callable[[], datetime]) -> AsyncIterator[tuple[AsyncTestClient, Infrastructure]]:
    settings = backend.settings()
    infra = Infrastructure(bus=backend.bus(), stores={name: backend.store(name) for name in SERVICES})
    services = build_services(settings, SERVICES, infra, clock=clock)
    async with AsyncTestClient(create_app(services, infra), timeout=30) as client:
        client.headers.update(STAFF)  # the complaint office; citizens' calls carry their check code
        yield client, infra


async def until(probe: Callable[[], Any], timeout: float = 60.0) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    last = None
    while asyncio.get_running_loop().time() < deadline:
        last = await probe()
        if last:
            return last
        await asyncio.sleep(0.2)
    raise AssertionError(f"not reached in {timeout}s; last={last!r}")


async def _json(client: AsyncTestClient, path: str, **kw: Any) -> Any:
    r = await client.get(path, **kw)
    return r.json() if r.status_code == 200 else None


async def public_view(client: AsyncTestClient, receipt: str, code: str) -> dict[str, Any]:
    r = await client.get(f"/api/v1/complaints/{receipt}?code={code}")
    assert r.status_code == 200, r.text
    return r.json()


def steps(view: dict[str, Any]) -> list[str]:
    return [s["step"] for s in view["timeline"]]


async def notices(client: AsyncTestClient, receipt: str, template: str | None = None) -> list[dict[str, Any]]:
    body = await _json(client, f"/api/v1/notifications?receipt_no={receipt}", headers=STAFF)
    items = body["items"] if body else []
    return [n for n in items if template is None or n["template"] == template]


async def test_mail_complaint_through_its_whole_life(backend, quick) -> None:
    clock = MovableClock()
    async with running(backend, clock) as (client, infra):
        payload = complaint_payload(
            channel="mail",
            kind="grievance",
            category="road",
            district="해운대구",
            title="보도 블록 파손",
            received_at=(clock() - timedelta(days=2)).isoformat(),
        )
        r = await client.post("/api/v1/complaints", json=payload)
        assert r.status_code == 201, r.text
        receipt, code = r.json()["receipt_no"], r.json()["check_code"]
        assert r.json()["received_at"].startswith(payload["received_at"][:16])

        # routed, assigned, clock set: the citizen sees who handles it and when it is due
        view = await until(lambda: _ready(client, receipt, code))
        assert steps(view)[:1] == ["received"] and {"routed", "assigned", "due_set"} <= set(steps(view))
        handler = view["handler"]
        assert handler["name"] and handler["contact"]
        clock_state = await _json(client, f"/api/v1/deadlines/{receipt}")
        assert clock_state["due_at"] == view["due_at"]

        # the receipt notice names the handler (민원책임실명제)
        receipt_notice = await until(lambda: _sent(client, receipt, "citizen.receipt"))
        assert handler["name"] in receipt_notice["text"] and handler["contact"] in receipt_notice["text"]

        # supplementation pauses the clock, the supplement resumes it
        r = await client.post(
            f"/api/v1/complaints/{receipt}/supplementation", headers=STAFF, json={"reason": "현장 사진 보완 요청"}
        )
        assert r.status_code == 200 and r.json()["status"] == "awaiting_supplement"
        await until(lambda: _paused(client, receipt, True))
        assert steps(await public_view(client, receipt, code))[-1] == "supplementation_requested"
        clock.advance(timedelta(hours=3))
        r = await client.post(f"/api/v1/complaints/{receipt}/supplement", headers=STAFF)
        assert r.json()["status"] == "in_progress"
        await until(lambda: _paused(client, receipt, False))

        # the extension moves the due date and tells the citizen why
        due_before = (await _json(client, f"/api/v1/deadlines/{receipt}"))["due_at"]
        r = await client.post(
            f"/api/v1/complaints/{receipt}/extend", headers=STAFF, json={"reason": "관계 부서 협의 필요"}
        )
        assert r.status_code == 200 and r.json()["extensions"] == 1
        await until(lambda: _due_moved(client, receipt, due_before))
        extension_notice = await until(lambda: _sent(client, receipt, "citizen.extension"))
        assert "관계 부서 협의 필요" in extension_notice["text"]
        view = await until(lambda: _due_shown(client, receipt, code, due_before))
        assert "extended" in steps(view)

        # answered and closed: the survey invitation follows
        answer = f"/api/v1/complaints/{receipt}/answer"  # drafted, submitted and approved (결재)
        await client.put(answer, headers=STAFF, json={"outcome": "accepted", "text": "보수하였습니다"})
        await client.post(f"{answer}/submit", headers=STAFF)
        r = await client.post(f"{answer}/approve", headers=STAFF, json={})
        assert r.status_code == 200 and r.json()["status"] == "closed"
        view = await public_view(client, receipt, code)
        assert view["status"] == "closed" and view["outcome"] == "accepted" and steps(view)[-1] == "closed"
        await until(lambda: _sent(client, receipt, "citizen.result"))
        await until(lambda: _sent(client, receipt, "citizen.survey"))
        assert (
            await client.post(f"/api/v1/complaints/{receipt}/close", headers=STAFF, json={"outcome": "accepted"})
        ).status_code == 409

        # no voucher: it was handled within its (extended) period
        vouchers = await _json(client, f"/api/v1/compensations?receipt_no={receipt}", headers=STAFF)
        assert not [e for e in (vouchers or {}).get("items", []) if e.get("kind") == "grant"]

        # no personal data or free text on any topic but the restricted one
        shared = [t.name for t in topics.TOPICS if t.name != topics.PRIVATE]
        seen = [e.model_dump_json() async for _, e in infra.bus.read(shared)]
        assert any(receipt in text for text in seen)
        for text in seen:
            for key in ("name", "phone", "email", "address", "title", "body"):
                assert payload[key] not in text, key
            for staff_text in ("현장 사진 보완 요청", "관계 부서 협의 필요"):
                assert staff_text not in text


async def _intake_knows_the_clock(client, receipt):
    """Intake checks an extension against the clock's period, which it learns from deadline.set."""
    view = await _json(client, f"/api/v1/complaints/{receipt}", headers=STAFF)
    return view if view and view.get("due_at") else None


async def _ready(client, receipt, code):
    view = await public_view(client, receipt, code)
    return view if view["handler"] and view["due_at"] else None


async def _sent(client, receipt, template):
    found = [n for n in await notices(client, receipt, template) if n["status"] == "sent"]
    if len(found) > 1:
        raise AssertionError(f"{len(found)} notices {template}")
    return found[0] if found else None


async def _paused(client, receipt, paused):
    state = await _json(client, f"/api/v1/deadlines/{receipt}")
    return state and state["paused"] is paused


async def _due_moved(client, receipt, before):
    state = await _json(client, f"/api/v1/deadlines/{receipt}")
    return state and state["due_at"] and state["due_at"] > before


async def _due_shown(client, receipt, code, before):
    view = await public_view(client, receipt, code)
    return view if view["due_at"] and view["due_at"] > before else None


async def _signals(infra: Infrastructure, receipt: str) -> list[Any]:
    return [e async for _, e in infra.bus.read([topics.DEADLINES]) if e.subject == receipt]


async def test_breach_sixty_days_ago_grants_one_voucher_and_one_notice(backend, quick) -> None:
    clock = MovableClock()
    async with running(backend, clock) as (client, infra):
        old = (clock() - timedelta(days=60)).isoformat()
        filed = {}
        for label, extra in {
            "late": {"kind": "grievance"},
            "petition": {"kind": "petition"},
            "extended": {"kind": "suggestion"},
        }.items():
            payload = complaint_payload(
                channel="mail",
                received_at=old if label != "extended" else (clock() - timedelta(days=1)).isoformat(),
                received_at_reason="우편 접수 후 등록 지연",
                **extra,
            )
            r = await client.post("/api/v1/complaints", json=payload)
            assert r.status_code == 201, r.text
            filed[label] = r.json()["receipt_no"]
        await until(lambda: _intake_knows_the_clock(client, filed["extended"]))
        r = await client.post(
            f"/api/v1/complaints/{filed['extended']}/extend", headers=STAFF, json={"reason": "추가 검토"}
        )
        assert r.status_code == 200
        await until(lambda: _extended(client, filed["extended"]))
        clock.advance(timedelta(days=60))

        for label in ("late", "petition", "extended"):
            await until(lambda label=label: _breached(infra, filed[label]))
        clock.advance(timedelta(hours=1))  # past compensation's settle time, whenever it saw the breach
        grant = await until(lambda: _grants(client, filed["late"]))
        await until(lambda: _sent(client, filed["late"], "citizen.compensation"))
        await asyncio.sleep(3)  # give any duplicate time to appear

        assert len(await _grants(client, filed["late"])) == 1
        assert grant[0]["amount_krw"] == 10_000
        assert await _grants(client, filed["petition"]) == []
        assert await _grants(client, filed["extended"]) == []
        assert len([n for n in await notices(client, filed["late"], "citizen.compensation")]) == 1
        signals = await _signals(infra, filed["late"])
        names = [e.data.get("signal") or e.type for e in signals if e.type.endswith(("breached.v1", "warning.v1"))]
        assert len(names) == len(set(names)), names
        before = {e.id for e in signals}

    # Disaster: the deadline store is lost and rebuilt from the log, and every other service
    # re-reads every topic from the beginning. Nothing downstream may happen twice.
    await full_replay(backend, clock)

    async with running(backend, clock) as (client, infra):
        await asyncio.sleep(3)
        assert len(await _grants(client, filed["late"])) == 1
        assert await _grants(client, filed["petition"]) == []
        assert await _grants(client, filed["extended"]) == []
        assert len(await notices(client, filed["late"], "citizen.compensation")) == 1
        assert len(await notices(client, filed["late"], "citizen.receipt")) == 1
        after = await _signals(infra, filed["late"])
        assert {e.id for e in after} == before  # the rebuild re-emitted nothing new
        state = await _json(client, f"/api/v1/deadlines/{filed['late']}")
        assert state["overdue"] is True


async def full_replay(backend, clock) -> None:
    """Rebuild deadline from an empty store; replay every input topic into every other service."""
    from services.deadline.bootstrap import build
    from services.deadline.replay import rebuild

    settings = backend.settings()
    lost = backend.store("deadline")
    await lost.drop()
    bus = backend.bus()
    deadlines = build(settings, store=backend.store("deadline"), bus=bus, clock=clock)
    summary = await rebuild(deadlines, bus)
    assert summary.signals_known > 0
    await deadlines.fire_due()

    others = [n for n in SERVICES if n != "deadline"]
    infra = Infrastructure(bus=bus, stores={n: backend.store(n) for n in others})
    for service in build_services(settings, others, infra, clock=clock):
        for topic_names, handler in service.subscriptions:
            async for _, event in bus.read(list(topic_names)):
                await handler(event)
        await service.relay.sweep()
    await bus.stop()


async def _extended(client, receipt):
    state = await _json(client, f"/api/v1/deadlines/{receipt}")
    return state and state["extensions"]


async def _breached(infra, receipt):
    return [e for e in await _signals(infra, receipt) if e.type == "kr.minwon.deadline.breached.v1"]


async def _grants(client, receipt):
    body = await _json(client, f"/api/v1/compensations?receipt_no={receipt}", headers=STAFF)
    items = (body or {}).get("items", [])
    return [e for e in items if e.get("kind") == "grant" and e.get("status", "granted") == "granted"]

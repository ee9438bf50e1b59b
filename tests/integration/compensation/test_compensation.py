"""Compensation against real stores and buses (embedded SQLite; Kafka + MongoDB-wire).

The app runs in the test client's own event loop (a portal thread), so the
test publishes, reads and inspects through clients of its own (``probe``, a
second store) — as another service would.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from litestar.testing import AsyncTestClient

from apps.host import Infrastructure, create_app
from minwon import contracts as c
from minwon import topics
from minwon.events import Event
from services.compensation import domain
from services.compensation.bootstrap import bootstrap
from services.compensation.settings import DATA, CompensationSettings
from tests import samples, spies
from tests.factories import STAFF


def _app(backend: Any, store: Any, bus: Any, **own: Any) -> Any:
    settings = backend.settings()
    service = bootstrap(settings, store=store, bus=bus, own=CompensationSettings(**{"breach_settle_seconds": 0, **own}))
    return create_app([service], Infrastructure(bus=bus, stores={"compensation": store}))


def _receipt() -> str:
    return f"2026-ITEST-{uuid.uuid4().hex[:8]}"


def _event(type: str, receipt_no: str, **data: Any) -> Event:
    at = datetime.now(UTC)
    return Event.new(
        type,
        source="/itest",
        subject=receipt_no,
        time=at,
        data=samples.shaped(type, {"receipt_no": receipt_no, "occurred_at": at.isoformat(), **data}),
    )


def _received(receipt_no: str, kind: str) -> Event:
    return _event(
        c.COMPLAINT_RECEIVED,
        receipt_no,
        kind=kind,
        channel="online",
        complainant_ref="p-itest",
        consent={"sms": True, "alimtalk": False, "email": False, "post": False},
    )


def _breached(receipt_no: str, kind: str, **flags: Any) -> Event:
    now = datetime.now(UTC)
    return _event(
        c.DEADLINE_BREACHED,
        receipt_no,
        kind=kind,
        department="건축과",
        due_at=(now - timedelta(minutes=1)).isoformat(),
        breached_at=now.isoformat(),
        **flags,
    )


async def _wait(check: Callable[[], Awaitable[Any]], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(0.2)
    raise AssertionError(f"not within {timeout}s: {last!r}")


class Probe:
    """Another service: publishes lifecycle events and consumes ``minwon.compensations.v1`` in its own group,
    keeping each event once per id (the outbox publishes at least once; consumers drop ids they have seen)."""

    def __init__(self, bus: Any) -> None:
        self.bus = bus
        self.seen: dict[str, Event] = {}
        bus.subscribe(f"probe-{uuid.uuid4().hex[:8]}", [topics.COMPENSATIONS], self._on)

    async def _on(self, event: Event) -> None:
        self.seen[event.id] = event

    async def __aenter__(self) -> Probe:
        await self.bus.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.bus.stop()

    async def publish(self, topic: str, event: Event) -> None:
        await self.bus.publish(topic, event)

    def of(self, receipt_no: str) -> list[Event]:
        return [e for e in self.seen.values() if e.subject == receipt_no]


async def _published(probe: Probe, receipt_no: str) -> list[Event]:
    return probe.of(receipt_no)


async def test_a_breach_grants_exactly_once_even_when_published_twice(backend: Any) -> None:
    store, bus = backend.store("compensation"), backend.bus()
    r = _receipt()
    async with Probe(backend.bus()) as probe, AsyncTestClient(_app(backend, store, bus)) as client:
        breach = _breached(r, "inquiry_law")
        await probe.publish(topics.COMPLAINTS, _received(r, "inquiry_law"))
        await probe.publish(topics.DEADLINES, breach)
        await probe.publish(topics.DEADLINES, breach)  # the same event twice
        await probe.publish(topics.DEADLINES, _breached(r, "inquiry_law"))  # and republished under a new id

        async def granted() -> list[Event]:
            return [e for e in await _published(probe, r) if e.type == c.COMPENSATION_GRANTED]

        await _wait(granted)
        await asyncio.sleep(1.5)  # room for a wrong second grant to appear
        [event] = await granted()
        listing = (await client.get("/api/v1/compensations", params={"receipt_no": r}, headers=STAFF)).json()
        [entry] = listing["items"]
        assert entry["id"] == event.data["grant_id"] == domain.entry_id(r, domain.DEADLINE_BREACH, "1")
        assert entry["status"] == "granted" and entry["amount_krw"] == 10000 == event.data["amount_krw"]
        assert event.data["voucher_code"] == entry["voucher_code"] and len(entry["voucher_code"]) == 16
        assert event.data["rule_version"] == "pocheon-charter-1" and event.data["department"] == "건축과"
        summary = (
            await client.get("/api/v1/compensations/summary", params={"year": entry["year"]}, headers=STAFF)
        ).json()
        assert summary["departments"]["건축과"]["causes"][domain.DEADLINE_BREACH]["count"] >= 1


async def test_the_receipt_creates_the_case_without_reading_it(backend: Any, monkeypatch: Any) -> None:
    reads = spies.gets(monkeypatch, "cases")
    store, bus = backend.store("compensation"), backend.bus()
    r = _receipt()
    cases = backend.store("compensation").collection("cases")  # read as another process would: not by the spy
    async with Probe(backend.bus()) as probe, AsyncTestClient(_app(backend, store, bus)):
        await probe.publish(topics.COMPLAINTS, _received(r, "inquiry_law"))
        await _wait(lambda: cases.find({"_id": r}))
    assert reads == []


async def test_a_petition_and_an_extended_complaint_get_nothing(backend: Any) -> None:
    store, bus = backend.store("compensation"), backend.bus()
    petition, extended = _receipt(), _receipt()
    # the settle delay lets the extension (another topic, no order across topics) arrive before the assessment
    app = _app(backend, store, bus, breach_settle_seconds=3)
    async with Probe(backend.bus()) as probe, AsyncTestClient(app) as client:
        await probe.publish(topics.COMPLAINTS, _received(petition, "petition"))
        await probe.publish(topics.COMPLAINTS, _received(extended, "grievance"))
        within = (datetime.now(UTC) - timedelta(hours=2)).isoformat()  # extended within the period
        await probe.publish(
            topics.COMPLAINTS,
            _event(c.COMPLAINT_EXTENDED, extended, kind="grievance", extension_no=1, occurred_at=within),
        )
        await probe.publish(topics.DEADLINES, _breached(petition, "petition"))
        await probe.publish(topics.DEADLINES, _breached(extended, "grievance"))  # no had_extension flag

        async def outcome(r: str) -> dict[str, Any] | None:
            got = (await client.get("/api/v1/compensations", params={"receipt_no": r}, headers=STAFF)).json()
            return got if got["breach"] and got["breach"]["outcome"] != "pending" else None

        petition_view = await _wait(lambda: outcome(petition))
        extended_view = await _wait(lambda: outcome(extended))
        assert (petition_view["breach"]["reason"], petition_view["items"]) == ("kind:petition", [])
        assert (extended_view["breach"]["reason"], extended_view["items"]) == ("extension", [])
        await asyncio.sleep(1.0)
        assert await _published(probe, petition) == [] and await _published(probe, extended) == []


async def test_revisits_budget_approval_and_reversal_over_http(backend: Any) -> None:
    store, bus = backend.store("compensation"), backend.bus()
    r, wb = _receipt(), _receipt()
    dept = f"민원과-{uuid.uuid4().hex[:4]}"
    year = datetime.now(UTC).astimezone(domain.KST).year
    app = _app(backend, store, bus, approval_threshold_krw=100_000)
    async with Probe(backend.bus()) as probe, AsyncTestClient(app) as client:
        put = await client.put(
            f"/api/v1/compensations/budgets/{year}/{dept}", json={"limit_krw": 1_010_000}, headers=STAFF
        )
        assert put.status_code == 200 and put.json()["limit_krw"] == 1_010_000
        assert (
            await client.put(f"/api/v1/compensations/budgets/{year}/{dept}", json={"limit_krw": 1})
        ).status_code == 401

        await probe.publish(topics.ROUTING, _event(c.COMPLAINT_ROUTED, r, department=dept))
        revisit = _event(c.COMPLAINT_REVISIT_REPORTED, r, kind="statutory")
        await probe.publish(topics.COMPLAINTS, revisit)
        await probe.publish(topics.COMPLAINTS, revisit)

        async def items(receipt_no: str) -> list[dict[str, Any]]:
            got = await client.get("/api/v1/compensations", params={"receipt_no": receipt_no}, headers=STAFF)
            return got.json()["items"]

        [grant] = await _wait(lambda: items(r))
        assert grant["cause"] == domain.STAFF_REVISIT and grant["department"] == dept

        case = {
            "receipt_no": wb,
            "complainant_ref": "p-0a1b2c",
            "department": dept,
            "verified": True,
            "recovered_amount_krw": 10_000_000,
        }
        created = await client.post("/api/v1/compensations/whistleblower-cases", json=case, headers=STAFF)
        assert created.status_code == 201, created.text
        entry = created.json()
        assert entry["status"] == "awaiting_approval" and entry["amount_krw"] == 3_000_000
        again = await client.post("/api/v1/compensations/whistleblower-cases", json=case, headers=STAFF)
        assert again.status_code == 200 and again.json()["id"] == entry["id"]
        unverified = await client.post(
            "/api/v1/compensations/whistleblower-cases",
            json={**case, "receipt_no": _receipt(), "verified": False},
            headers=STAFF,
        )
        assert unverified.status_code == 422 and unverified.json()["fields"][0]["field"] == "verified"

        # 1,010,000 - 10,000 already granted leaves 1,000,000: the 3,000,000 reward does not fit
        refused = await client.post(
            f"/api/v1/compensations/{entry['id']}/approve", json={"approver": "감사관"}, headers=STAFF
        )
        assert refused.status_code == 200 and refused.json()["status"] == "refused"

        reversed_ = await client.post(
            f"/api/v1/compensations/{grant['id']}/reverse",
            json={"reason": "재방문 사유 오기재", "code": "error"},
            headers=STAFF,
        )
        assert reversed_.status_code == 201 and reversed_.json()["amount_krw"] == -10_000
        twice = await client.post(
            f"/api/v1/compensations/{grant['id']}/reverse", json={"reason": "again", "code": "error"}, headers=STAFF
        )
        assert twice.status_code == 409
        budgets = (await client.get(f"/api/v1/compensations/budgets/{year}", headers=STAFF)).json()["items"]
        assert [b["spent_krw"] for b in budgets if b["department"] == dept] == [0]

        async def kinds() -> list[str]:
            return sorted(e.type for e in await _published(probe, r) + await _published(probe, wb))

        expected = sorted([c.COMPENSATION_GRANTED, c.COMPENSATION_REVERSED, c.COMPENSATION_REFUSED])
        await _wait(lambda: _equal(kinds, expected))
        for event in await _published(probe, wb):
            assert "p-0a1b2c" not in event.to_json().decode()
        own = backend.store("compensation")
        raw = json.dumps(await own.collection("ledger").get(entry["id"]), ensure_ascii=False)
        assert "p-0a1b2c" in raw  # the pseudonym stays in compensation's own store


async def _equal(get: Callable[[], Awaitable[Any]], want: Any) -> bool:
    return await get() == want


def test_the_shipped_pocheon_charter_file_is_valid() -> None:
    charter = domain.Charter.from_dict(json.loads((DATA / "pocheon.json").read_text(encoding="utf-8")))
    assert charter.breach.amount_krw == 10000 and charter.revisit_krw == 10000
    assert charter.breach.excluded_kinds == {"other", "petition"}
    assert charter.breach.exclude_supplementation and charter.breach.exclude_extension
    assert charter.whistleblower.reward(100_000_000) == 30_000_000

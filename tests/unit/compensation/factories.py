"""Factories for compensation test data: a charter, lifecycle events, a wired handler set."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from minwon import contracts as c
from minwon.events import Event
from minwon.outbox import Relay
from services.compensation.domain import Charter
from services.compensation.handlers import Compensation
from services.compensation.store import CompensationStore
from tests import samples
from tests.fakes import FakeClock, MemoryBus, MemoryStore

SECRET = b"test-voucher-secret"


def charter_dict(**breach: Any) -> dict[str, Any]:
    return {
        "city": "testcity",
        "name": "Test charter",
        "version": "test-charter-7",
        "rules": {
            "deadline_breach": {"amount_krw": 10000, "excluded_kinds": ["other", "petition"], **breach},
            "staff_revisit": {"amount_krw": 10000},
            "whistleblower": {
                "bands": [
                    {"over_krw": 0, "base_krw": 0, "rate_percent": 30},
                    {"over_krw": 100_000_000, "base_krw": 30_000_000, "rate_percent": 20},
                    {"over_krw": 500_000_000, "base_krw": 110_000_000, "rate_percent": 14},
                    {"over_krw": 2_000_000_000, "base_krw": 320_000_000, "rate_percent": 8},
                    {"over_krw": 4_000_000_000, "base_krw": 480_000_000, "rate_percent": 4},
                ],
                "no_recovery_krw": 0,
                "maximum_krw": 3_000_000_000,
                "round_down_to_krw": 1000,
            },
        },
    }


def charter(**breach: Any) -> Charter:
    return Charter.from_dict(charter_dict(**breach))


def receipt() -> str:
    return f"2026-TEST-{uuid.uuid4().hex[:7]}"


def event(type: str, receipt_no: str, at: datetime, **data: Any) -> Event:
    return Event.new(
        type,
        source="/test",
        subject=receipt_no,
        time=at,
        data=samples.shaped(type, {"receipt_no": receipt_no, "occurred_at": at.isoformat(), **data}),
    )


def received(receipt_no: str, at: datetime, kind: str = "inquiry_system", **data: Any) -> Event:
    return event(
        c.COMPLAINT_RECEIVED,
        receipt_no,
        at,
        kind=kind,
        channel="online",
        complainant_ref="p-abc",
        consent={"sms": True, "alimtalk": False, "email": False, "post": False},
        **data,
    )


def breached(
    receipt_no: str, at: datetime, kind: str = "inquiry_system", department: str = "건축과", **flags: Any
) -> Event:
    return event(
        c.DEADLINE_BREACHED,
        receipt_no,
        at,
        kind=kind,
        department=department,
        due_at=(at - timedelta(minutes=1)).isoformat(),
        breached_at=at.isoformat(),
        **flags,
    )


class World:
    """The handlers over in-memory fakes, with a clock the test moves."""

    def __init__(
        self,
        *,
        settle: float = 0.0,
        facts_wait: float = 3600.0,
        threshold: int | None = 100_000,
        default_budget: int | None = None,
        **breach: Any,
    ) -> None:
        self.clock = FakeClock()
        self.bus = MemoryBus()
        self.db = MemoryStore()
        self.svc = Compensation(
            store=CompensationStore(self.db, Relay(self.bus), self.clock),
            charter=charter(**breach),
            clock=self.clock,
            source="/test/compensation",
            voucher_secret=SECRET,
            approval_threshold_krw=threshold,
            default_budget_krw=default_budget,
            settle=timedelta(seconds=settle),
            facts_wait=timedelta(seconds=facts_wait),
        )

    def granted(self, receipt_no: str | None = None) -> list[Event]:
        return self.bus.of_type(c.COMPENSATION_GRANTED, receipt_no)

    def refused(self, receipt_no: str | None = None) -> list[Event]:
        return self.bus.of_type(c.COMPENSATION_REFUSED, receipt_no)

    async def ledger(self, receipt_no: str) -> list[dict[str, Any]]:
        return await self.svc.store.entries(receipt_no=receipt_no)

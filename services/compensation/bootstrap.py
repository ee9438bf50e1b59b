"""Compensation's composition root."""

from __future__ import annotations

import json
from datetime import timedelta

from minwon.bus import Bus
from minwon.docstore import DocumentStore
from minwon.outbox import Relay
from minwon.service import Clock, Service, system_clock
from minwon.settings import Settings
from services.compensation import api, consumers
from services.compensation.domain import Charter
from services.compensation.handlers import Compensation
from services.compensation.settings import CompensationSettings
from services.compensation.store import CompensationStore

PREFIXES = ("/api/v1/compensations",)
"""The URL prefixes of compensation's routes (the gateway routes them here; its requests' ``service`` label)."""


def bootstrap(
    settings: Settings,
    *,
    store: DocumentStore,
    bus: Bus,
    clock: Clock = system_clock,
    own: CompensationSettings | None = None,
) -> Service:
    own = own or CompensationSettings()
    charter = Charter.from_dict(json.loads(own.charter_file.read_text(encoding="utf-8")))
    relay = Relay.configured(bus, settings)
    compensation = Compensation(
        store=CompensationStore(store, relay, clock),
        charter=charter,
        clock=clock,
        source=f"{settings.source}/compensation",
        voucher_secret=own.voucher_secret.encode(),
        approval_threshold_krw=own.approval_threshold_krw,
        default_budget_krw=own.default_budget_krw,
        settle=timedelta(seconds=own.breach_settle_seconds),
        facts_wait=timedelta(seconds=own.facts_wait_seconds),
    )

    async def assess_due() -> None:
        await compensation.assess_due()

    return Service(
        name="compensation",
        store=store,
        bus=bus,
        relay=relay,
        routes=api.routes(compensation),
        subscriptions=consumers.subscriptions(compensation),
        loops=[("assess-breaches", own.loop_interval_seconds or settings.timer_interval_seconds, assess_due)],
        on_start=[compensation.store.setup],
    )

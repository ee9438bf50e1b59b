"""Routing's composition root."""

from __future__ import annotations

from minwon.bus import Bus
from minwon.crypto import Sealer
from minwon.docstore import DocumentStore
from minwon.outbox import Relay
from minwon.service import Clock, Service, system_clock
from minwon.settings import Settings
from services.routing import api, consumers
from services.routing.handlers import Routing
from services.routing.settings import RoutingSettings
from services.routing.store import RoutingStore

PREFIXES = ("/api/v1/routing",)
"""The URL prefixes of routing's routes (the gateway routes them here; its requests' ``service`` label)."""


def bootstrap(
    settings: Settings,
    *,
    store: DocumentStore,
    bus: Bus,
    clock: Clock = system_clock,
    routing_settings: RoutingSettings | None = None,
) -> Service:
    own = routing_settings or RoutingSettings()
    relay = Relay.configured(bus, settings)
    routing = Routing(
        store=RoutingStore(store, relay),
        contacts=Sealer("c1", settings.contacts_key),
        clock=clock,
        source=f"{settings.source}/routing",
        default_department=own.default_department,
        cap=own.max_open_per_handler,
        seed_dir=own.data_dir if own.seed else None,
    )
    return Service(
        name="routing",
        store=store,
        bus=bus,
        relay=relay,
        routes=api.routes(routing),
        subscriptions=consumers.subscriptions(routing),
        loops=[
            ("assign-waiting", own.queue_interval_seconds, routing.assign_waiting),
            ("recount", own.recount_interval_seconds, store.scans.paced("recount", routing.recount)),
        ],
        on_start=[routing.start],
    )

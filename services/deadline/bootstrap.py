"""The deadline service's composition root."""

from __future__ import annotations

from minwon.bus import Bus
from minwon.docstore import DocumentStore
from minwon.outbox import Relay
from minwon.service import Clock, Service, system_clock
from minwon.settings import Settings
from services.deadline import api, consumers, domain
from services.deadline.handlers import Deadlines
from services.deadline.settings import DeadlineSettings
from services.deadline.store import DeadlineStore

PREFIXES = ("/api/v1/deadlines",)
"""The URL prefixes of deadline's routes (the gateway routes them here; its requests' ``service`` label)."""


def build(
    settings: Settings,
    *,
    store: DocumentStore,
    bus: Bus,
    clock: Clock = system_clock,
    deadline_settings: DeadlineSettings | None = None,
    relay: Relay | None = None,
) -> Deadlines:
    """The handlers over ``store``; ``relay`` publishes the outboxes (default: to ``bus``)."""
    own = deadline_settings or DeadlineSettings()
    return Deadlines(
        store=DeadlineStore(store, relay or Relay.configured(bus, settings), clock),
        clock=clock,
        source=f"{settings.source}/deadline",
        types=domain.load_statutory_types(own.statutory_types.read_text(encoding="utf-8")),
        scan_limit=own.scan_limit,
        holiday_page_size=own.holiday_page_size,
        holiday_pages_per_pass=own.holiday_pages_per_pass,
    )


def service(
    deadlines: Deadlines, settings: Settings, *, bus: Bus, deadline_settings: DeadlineSettings | None = None
) -> Service:
    own = deadline_settings or DeadlineSettings()
    return Service(
        name="deadline",
        store=deadlines.store.db,
        bus=bus,
        relay=deadlines.store.relay,
        routes=api.routes(deadlines),
        subscriptions=consumers.subscriptions(deadlines),
        loops=[
            ("timers", settings.timer_interval_seconds, deadlines.fire_due),
            ("holidays", own.holiday_interval_seconds, deadlines.recompute_holidays),
            ("gauges", own.gauge_interval_seconds, deadlines.store.db.scans.paced("gauges", deadlines.refresh_gauges)),
        ],
        on_start=[deadlines.start],
    )


def bootstrap(
    settings: Settings,
    *,
    store: DocumentStore,
    bus: Bus,
    clock: Clock = system_clock,
    deadline_settings: DeadlineSettings | None = None,
) -> Service:
    own = deadline_settings or DeadlineSettings()
    deadlines = build(settings, store=store, bus=bus, clock=clock, deadline_settings=own)
    return service(deadlines, settings, bus=bus, deadline_settings=own)

"""Intake's composition root."""

from __future__ import annotations

from datetime import timedelta

from minwon.bus import Bus
from minwon.crypto import Sealer
from minwon.docstore import DocumentStore
from minwon.outbox import Relay
from minwon.service import Clock, Service, system_clock
from minwon.settings import Settings
from services.intake import api, attachments_api, attachments_handlers, consumers, open311
from services.intake.handlers import Intake
from services.intake.settings import IntakeSettings
from services.intake.store import IntakeStore

PREFIXES = ("/api/v1/complaints", "/open311")
"""The URL prefixes of intake's routes (the gateway routes them here; its requests' ``service`` label)."""


def bootstrap(
    settings: Settings,
    *,
    store: DocumentStore,
    bus: Bus,
    clock: Clock = system_clock,
    intake_settings: IntakeSettings | None = None,
) -> Service:
    own = intake_settings or IntakeSettings()
    relay = Relay.configured(bus, settings)
    intake = build(settings, store=store, relay=relay, clock=clock, own=own)
    files = attachments_handlers.build(settings, intake, store)
    return _service(intake, store, bus, relay, files)


def build(
    settings: Settings,
    *,
    store: DocumentStore,
    relay: Relay,
    clock: Clock = system_clock,
    own: IntakeSettings | None = None,
) -> Intake:
    """Intake's handlers over ``store`` (the service, or a command such as ``minwon keys reseal``)."""
    own = own or IntakeSettings()
    return Intake(
        store=IntakeStore(
            store, relay, receipt_block=own.receipt_block or (10 if settings.backend == "distributed" else 1)
        ),
        pii=Sealer.from_settings(settings.pii_key_id, settings.pii_key, settings.pii_old_keys),
        contacts=Sealer("c1", settings.contacts_key),
        clock=clock,
        org=settings.org_code,
        source=f"{settings.source}/intake",
        code_secret=settings.check_code_secret.encode(),
        max_age=timedelta(days=settings.received_at_max_age_days),
        code_failures=settings.check_code_max_failures,
        code_window=timedelta(seconds=settings.check_code_window_seconds),
        proxies=frozenset(p.strip() for p in settings.trusted_proxies.split(",") if p.strip()),
        approval_default=own.answer_approval_default,
    )


def _service(
    intake: Intake, store: DocumentStore, bus: Bus, relay: Relay, files: attachments_handlers.Attachments
) -> Service:
    return Service(
        name="intake",
        store=store,
        bus=bus,
        relay=relay,
        routes=[*api.routes(intake, files), *attachments_api.routes(files), *open311.routes(intake, files)],
        subscriptions=consumers.subscriptions(intake),
        loops=[("open-complaints-gauge", 15.0, store.scans.paced("open-complaints-gauge", intake.count_open))],
        on_start=[intake.store.setup],
        on_stop=[files.store.blobs.close],
    )

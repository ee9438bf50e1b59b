"""The notification service's composition root."""

from __future__ import annotations

from datetime import timedelta

from minwon.bus import Bus
from minwon.crypto import Sealer
from minwon.docstore import DocumentStore
from minwon.outbox import Aggregates, Relay
from minwon.service import Clock, GroupedService, Service, system_clock
from minwon.settings import Settings
from minwon.workcal import WorkCalendar
from services.notification import api, consumers, domain, letters
from services.notification.agencies import api as agencies_api
from services.notification.agencies import public, subscriptions, webhooks
from services.notification.handlers import Notifier
from services.notification.providers import (
    DevSink,
    HttpGateway,
    Providers,
    SmtpEmail,
    SpoolPost,
    StaffWebhook,
)
from services.notification.rendering import Renderer
from services.notification.settings import NotificationSettings
from services.notification.store import NotificationStore

PREFIXES = ("/api/v1/notifications", "/api/v1/subscriptions")
"""The URL prefixes of notification's routes (the gateway routes them here; its requests' ``service`` label)."""


def build_providers(ns: NotificationSettings, store: NotificationStore, sealer: Sealer, clock: Clock) -> Providers:
    """The provider of each channel, as the settings choose (the dev sink by default)."""
    dev = DevSink(store.sink, store.letters, sealer, clock, failing_channels=frozenset(ns.dev_failing_channels))
    providers = Providers.every_channel(dev)
    if ns.sms_provider == "gateway":
        gateway = HttpGateway(
            ns.gateway_url, ns.gateway_api_key, ns.gateway_sender, ns.gateway_timeout_seconds, ns.alimtalk_sender_key
        )
        for channel in (domain.SMS, domain.LMS, domain.ALIMTALK):
            providers.by_channel[channel] = gateway
    if ns.email_provider == "smtp":
        providers.by_channel[domain.EMAIL] = SmtpEmail(
            ns.smtp_host,
            ns.smtp_port,
            ns.email_from,
            ns.smtp_username,
            ns.smtp_password,
            ns.smtp_starttls,
            ns.smtp_tls,
            ns.smtp_timeout_seconds,
        )
    if ns.post_provider == "spool":
        providers.by_channel[domain.POST] = SpoolPost(ns.spool_dir)
    if ns.staff_provider == "webhook":
        providers.by_channel[domain.STAFF_MESSAGE] = StaffWebhook(
            ns.staff_webhook_url, ns.gateway_api_key, ns.gateway_timeout_seconds
        )
    return providers


def policy(ns: NotificationSettings) -> domain.Policy:
    return domain.Policy(
        quiet_start=ns.quiet_start,
        quiet_end=ns.quiet_end,
        quiet_on_non_working_days=ns.quiet_on_non_working_days,
        max_attempts=ns.max_attempts,
        backoff_base=timedelta(seconds=ns.backoff_base_seconds),
        backoff_factor=ns.backoff_factor,
        backoff_max=timedelta(seconds=ns.backoff_max_seconds),
        lease=timedelta(seconds=ns.sending_lease_seconds),
        waiting_recheck=timedelta(seconds=ns.waiting_recheck_seconds),
        office_contact=ns.office_contact,
        public_base_url=ns.public_base_url,
        lookup_path=ns.lookup_path,
        answer_wait=timedelta(seconds=ns.answer_wait_seconds),
    )


def bootstrap(
    settings: Settings,
    *,
    store: DocumentStore,
    bus: Bus,
    clock: Clock = system_clock,
    notification_settings: NotificationSettings | None = None,
    providers: Providers | None = None,
    public_settings: public.PublicSettings | None = None,
    webhook_sender: webhooks.Sender | None = None,
) -> Service:
    ns = notification_settings or NotificationSettings()
    ps = public_settings or public.PublicSettings()
    relay = Relay.configured(bus, settings)
    nstore = NotificationStore(store, relay, clock)
    sealer = Sealer.from_settings(ns.key_id, ns.key, ns.old_keys)
    notifier = Notifier(
        store=nstore,
        providers=providers or build_providers(ns, nstore, sealer, clock),
        renderer=Renderer(),
        contacts=Sealer("c1", settings.contacts_key),
        sealer=sealer,
        calendar=WorkCalendar().with_holidays(ns.extra_holidays),
        policy=policy(ns),
        clock=clock,
        source=f"{settings.source}/notification",
        org_name=ns.org_name,
        font=letters.find_font(ns.letter_font),
        batch_size=ns.batch_size,
    )
    # the public stream for other agencies, their subscriptions and webhooks (docs/public-events.md)
    projector = public.Projector(
        Aggregates(store.collection("public_complaints"), relay),
        secret=ps.public_id_secret.encode(),
        origin=f"{settings.source}/public",
    )
    delivery_records = store.collection("webhook_deliveries")
    hooks = webhooks.Webhooks(
        subscriptions=store.collection("subscriptions"),
        deliveries=Aggregates(delivery_records, relay, timers=(webhooks.delivery_wheel(store, clock),)),
        records=delivery_records,
        sealer=sealer,
        bus=bus,
        sender=webhook_sender or webhooks.HttpSender(ps.webhook_timeout_seconds),
        policy=webhooks.policy(
            ps.webhook_max_attempts,
            ps.webhook_backoff_base_seconds,
            ps.webhook_backoff_factor,
            ps.webhook_backoff_max_seconds,
            ps.webhook_lease_seconds,
        ),
        clock=clock,
        origin=f"{settings.source}/notification",
        batch_size=ps.webhook_batch_size,
        replay_max=ps.replay_max_events,
    )
    subs = subscriptions.Subscriptions(
        agencies=store.collection("agencies"),
        subscriptions=store.collection("subscriptions"),
        webhooks=hooks,
        sealer=sealer,
        clock=clock,
        allow_loopback=ps.webhook_allow_http_loopback,
    )
    return GroupedService(
        name="notification",
        store=store,
        bus=bus,
        relay=relay,
        routes=[*api.routes(notifier), *agencies_api.routes(subs)],
        subscriptions=consumers.subscriptions(notifier),
        groups=consumers.groups(projector, hooks),
        loops=[
            ("deliver", ns.deliver_interval_seconds, notifier.deliver_due),
            ("gauges", 30.0, store.scans.paced("gauges", notifier.refresh_gauges)),
            ("webhooks", ps.webhook_interval_seconds, hooks.deliver_due),
        ],
        on_start=[nstore.setup, subs.setup],
    )

"""The notification service's subscriptions: every topic whose events cause a notice,
and the restricted topic with the sealed contact details (read by routing and notification only)."""

from __future__ import annotations

from minwon.bus import Handler
from services.notification.agencies.public import Projector
from services.notification.agencies.webhooks import Webhooks
from services.notification.handlers import Notifier


def subscriptions(notifier: Notifier) -> list[tuple[list[str], Handler]]:
    return [(notifier.table.topics, notifier.table)]


def groups(projector: Projector, webhooks: Webhooks) -> list[tuple[str, list[str], Handler]]:
    """Subscriptions in consumer groups of their own (``minwon-notification-<suffix>``), so the public
    stream and the agencies' webhooks progress, lag and replay independently of the notices."""
    return [
        ("public", projector.table.topics, projector.table),
        ("webhooks", webhooks.table.topics, webhooks.table),
    ]

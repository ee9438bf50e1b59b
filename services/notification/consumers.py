"""The notification service's subscriptions: every topic whose events cause a notice,
and the restricted topic with the sealed contact details (read by routing and notification only)."""

from __future__ import annotations

from minwon import topics
from minwon.bus import Handler
from services.notification.agencies.public import Projector
from services.notification.agencies.webhooks import Webhooks
from services.notification.handlers import Notifier

TOPICS = [topics.PRIVATE, topics.COMPLAINTS, topics.ROUTING, topics.DEADLINES, topics.COMPENSATIONS, topics.SURVEYS]


def subscriptions(notifier: Notifier) -> list[tuple[list[str], Handler]]:
    return [(TOPICS, notifier.on_event)]


def groups(projector: Projector, webhooks: Webhooks) -> list[tuple[str, list[str], Handler]]:
    """Subscriptions in consumer groups of their own (``minwon-notification-<suffix>``), so the public
    stream and the agencies' webhooks progress, lag and replay independently of the notices."""
    return [
        ("public", [topics.COMPLAINTS, topics.ROUTING, topics.DEADLINES], projector.on_event),
        ("webhooks", [topics.PUBLIC], webhooks.on_public_event),
    ]

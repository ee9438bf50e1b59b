"""The notification service's subscriptions: every topic whose events cause a notice,
and the restricted topic with the sealed contact details (read by routing and notification only)."""

from __future__ import annotations

from minwon import topics
from minwon.bus import Handler
from services.notification.handlers import Notifier

TOPICS = [topics.PRIVATE, topics.COMPLAINTS, topics.ROUTING, topics.DEADLINES, topics.COMPENSATIONS, topics.SURVEYS]


def subscriptions(notifier: Notifier) -> list[tuple[list[str], Handler]]:
    return [(TOPICS, notifier.on_event)]

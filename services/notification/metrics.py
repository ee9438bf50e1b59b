"""The notification service's metrics (docs/notification.md lists them)."""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import Counter, Gauge

from minwon.telemetry import zero

SENT = Counter(
    "minwon_notification_sent_total",
    "Provider calls for notifications, per channel and outcome (sent, duplicate, failed)",
    ["channel", "outcome"],
)
DEFERRED = Gauge("minwon_notification_deferred", "Notifications held back by quiet hours right now")
DEAD = Counter("minwon_notification_dead_total", "Notifications given up on (dead-lettered)")
SUPERSEDED = Counter(
    "minwon_notification_superseded_total",
    "Notifications dropped unsent because a later event outdated them, per template",
    ["template"],
)


def initialise(departments: Sequence[str]) -> None:
    """Every series a dashboard or alert names, at 0."""
    from services.notification import domain

    zero(SENT, *({"channel": ch, "outcome": o} for ch in domain.CHANNELS for o in ("sent", "failed", "duplicate")))
    zero(SUPERSEDED, *({"template": t} for t in domain.TEMPLATES))
    from services.notification.agencies.webhooks import DELIVERIES  # the webhook alerts' increase() needs the 0

    zero(DELIVERIES, *({"outcome": o} for o in ("delivered", "failed", "dead")))

"""The one registry of topics: names, partitions, retention, and who writes them.

Topics are ``minwon.<domain>.v1``; messages are keyed by the complaint's receipt
number. Lifecycle topics keep their events forever (``retention.ms=-1``) so the
deadline service — or any other — can be rebuilt by replaying them
(docs/events.md).
"""

from __future__ import annotations

from dataclasses import dataclass

FOREVER = -1
WEEK_MS = 7 * 24 * 3600 * 1000


@dataclass(frozen=True)
class TopicSpec:
    name: str
    owner: str
    description: str
    partitions: int = 12
    retention_ms: int = FOREVER
    restricted: bool = False

    def kafka_configs(self) -> dict[str, str]:
        return {"retention.ms": str(self.retention_ms), "cleanup.policy": "delete"}


COMPLAINTS = "minwon.complaints.v1"
ROUTING = "minwon.routing.v1"
DEADLINES = "minwon.deadlines.v1"
NOTIFICATIONS = "minwon.notifications.v1"
COMPENSATIONS = "minwon.compensations.v1"
SURVEYS = "minwon.surveys.v1"
PRIVATE = "minwon.private.complaints.v1"
DEADLETTER = "minwon.deadletter.v1"
PUBLIC = "minwon.public.complaints.v1"

TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec(
        COMPLAINTS,
        "intake",
        "Complaint lifecycle: received, acknowledged, supplementation, "
        "extension, transfer, closed, withdrawn, revisit reported. PII-free.",
    ),
    TopicSpec(ROUTING, "routing", "Routed to a department, assigned to a handler, reassigned. PII-free."),
    TopicSpec(DEADLINES, "deadline", "Legal clocks: set, updated, warnings, escalations, breaches, SLA misses."),
    TopicSpec(NOTIFICATIONS, "notification", "Delivery outcomes of notices to citizens and staff. PII-free."),
    TopicSpec(COMPENSATIONS, "compensation", "Vouchers granted, refused or reversed. PII-free."),
    TopicSpec(SURVEYS, "survey", "Survey invitations, responses, low scores. PII-free."),
    TopicSpec(
        PRIVATE,
        "intake",
        "Sealed (AES-GCM) title, body and contact details of each complaint; "
        "restricted by ACL to intake (write), routing and notification (read).",
        restricted=True,
    ),
    TopicSpec(
        DEADLETTER, "all", "Events a consumer kept failing on, with the error.", partitions=3, retention_ms=4 * WEEK_MS
    ),
    TopicSpec(
        PUBLIC,
        "notification",
        "Public complaint events for other agencies (contract: docs/public-events.md, "
        "docs/asyncapi.yaml): a pseudonymous complaint id, kind, category, district, department, channel, "
        "times, due dates, outcome. No personal data, no free text; keyed by the pseudonymous id.",
    ),
)

LIFECYCLE = (COMPLAINTS, ROUTING, DEADLINES)


def spec(name: str) -> TopicSpec:
    for t in TOPICS:
        if t.name == name:
            return t
    raise KeyError(name)

"""Routing's metrics (registry: docs/routing.md)."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import Counter, Gauge

from minwon import contracts as c
from minwon.events import Event

ROUTED = Counter("minwon_routing_routed_total", "Complaints routed, per department and rule", ["department", "rule"])
ASSIGNED = Counter("minwon_routing_assigned_total", "Complaints given a handler, per department", ["department"])
UNASSIGNED = Gauge("minwon_routing_unassigned", "Complaints routed and waiting for a handler")
MISROUTES = Counter("minwon_routing_misroutes_total", "Complaints moved to another department, per original rule",
                    ["rule"])


def observe(events: Iterable[Event]) -> None:
    """Count what was written (never a redelivered duplicate: those write no events)."""
    for e in events:
        if e.type == c.COMPLAINT_ROUTED:
            ROUTED.labels(department=e.data["department"], rule=e.data["rule_id"]).inc()
        elif e.type == c.COMPLAINT_ASSIGNED:
            ASSIGNED.labels(department=e.data["department"]).inc()
        elif e.type == c.COMPLAINT_REASSIGNED:
            ASSIGNED.labels(department=e.data["department"]).inc()


def misrouted(rule_id: str) -> None:
    MISROUTES.labels(rule=rule_id).inc()

"""Routing's metrics (registry: docs/routing.md)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from prometheus_client import Counter, Gauge

from minwon import contracts as c
from minwon.events import Event
from minwon.telemetry import zero

ROUTED = Counter("minwon_routing_routed_total", "Complaints routed, per department and rule", ["department", "rule"])
ASSIGNED = Counter("minwon_routing_assigned_total", "Complaints given a handler, per department", ["department"])
UNASSIGNED = Gauge("minwon_routing_unassigned", "Complaints routed and waiting for a handler")
MISROUTES = Counter(
    "minwon_routing_misroutes_total", "Complaints moved to another department, per original rule", ["rule"]
)


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


def initialise(departments: Sequence[str]) -> None:
    """Every series a dashboard or alert names, at 0, for the known departments and the sample rules."""
    import json

    from services.routing.domain import DEFAULT_RULE_ID
    from services.routing.settings import RoutingSettings

    settings = RoutingSettings()
    zero(ASSIGNED, *({"department": dep} for dep in departments))
    pairs = {(settings.default_department, DEFAULT_RULE_ID)}
    try:
        rules = json.loads((settings.data_dir / "rules.json").read_text("utf-8"))
        pairs |= {(str(r["department"]), str(r["id"])) for r in rules}
    except (OSError, ValueError, KeyError, TypeError):
        pass
    zero(ROUTED, *({"department": dep, "rule": rule} for dep, rule in sorted(pairs)))

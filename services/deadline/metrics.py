"""The deadline service's metrics (names ``minwon_deadline_*``; registry: docs/deadline-service.md)."""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import Counter, Gauge, Histogram

from minwon.telemetry import zero

OPEN_CLOCKS = Gauge("minwon_deadline_open_clocks", "Clocks running or paused (not closed)")
OVERDUE = Gauge("minwon_deadline_overdue", "Running clocks past their legal due time")
SIGNALS = Counter(
    "minwon_deadline_signals_total",
    "Signal events emitted, per signal (warning, escalation.N, breached, sla.*, progress_notice.30d) and department",
    ["signal", "department"],
)
LATENESS = Histogram(
    "minwon_deadline_timer_lateness_seconds",
    "How late a signal fired: emission time minus its scheduled instant",
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800, 3600, 86400, float("inf")),
)
CLOSED = Counter(
    "minwon_deadline_closed_total",
    "Clocks closed, by whether they closed within the legal period (the SLO), per department",
    ["within_period", "department"],
)
REFUSED = Counter(
    "minwon_deadline_refused_total",
    "Lifecycle facts the clock refused (recorded, not retried), per error code",
    ["code"],
)
SCAN_SECONDS = Histogram(
    "minwon_deadline_scan_pass_seconds",
    "Duration of one timer-scanner pass",
    buckets=(0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, float("inf")),
)


def initialise(departments: Sequence[str]) -> None:
    """Every series a dashboard or alert names, at 0, for the known departments."""
    from services.deadline import domain as d

    signals = (
        d.WARNING,
        d.BREACHED,
        d.SLA_ASSIGNMENT,
        d.SLA_FORWARDING,
        d.SLA_FIRST_RESPONSE,
        d.PROGRESS_NOTICE,
        *d.STAGES,
        *(d.escalation(s.level) for s in d.DEFAULT_POLICY.ladder),
    )
    zero(SIGNALS, *({"signal": s, "department": dep} for s in signals for dep in departments))
    zero(CLOSED, *({"within_period": w, "department": dep} for w in ("true", "false") for dep in departments))

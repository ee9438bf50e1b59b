"""Intake's metrics (registry: docs/metrics.md)."""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import Counter, Gauge

from minwon.telemetry import zero

RECEIVED = Counter("minwon_intake_complaints_received_total", "Complaints received", ["channel", "kind"])
OPEN = Gauge("minwon_intake_open_complaints", "Complaints by status (refreshed periodically)", ["status"])
COMMANDS = Counter("minwon_intake_commands_total", "Lifecycle commands applied", ["command"])


def initialise(departments: Sequence[str]) -> None:
    """Every series a dashboard or alert names, at 0 (``departments``: unused here)."""
    from services.intake import domain

    zero(RECEIVED, *({"channel": ch, "kind": k} for ch in domain.CHANNELS for k in domain.KINDS))
    zero(COMMANDS, *({"command": c} for c in COMMAND_NAMES))
    zero(OPEN, *({"status": s} for s in sorted(domain.OPEN)))


COMMAND_NAMES = (
    "acknowledged",
    "supplementation_requested",
    "supplement_received",
    "extended",
    "transferred",
    "closed",
    "withdrawn",
    "revisit_reported",
)

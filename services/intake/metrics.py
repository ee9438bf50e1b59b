"""Intake's metrics (registry: docs/metrics.md)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

RECEIVED = Counter("minwon_intake_complaints_received_total", "Complaints received", ["channel", "kind"])
OPEN = Gauge("minwon_intake_open_complaints", "Complaints by status (refreshed periodically)", ["status"])
COMMANDS = Counter("minwon_intake_commands_total", "Lifecycle commands applied", ["command"])

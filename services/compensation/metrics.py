"""Compensation's metrics (docs/metrics.md is the registry)."""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import Counter

from minwon.telemetry import zero
from services.compensation.domain import CAUSES

VOUCHERS_GRANTED = Counter(
    "minwon_compensation_vouchers_granted_total", "Compensation grants written to the ledger, per cause", ["cause"]
)
GRANTED_KRW = Counter("minwon_compensation_granted_krw_total", "Amount granted, in KRW")
REFUSED = Counter("minwon_compensation_refused_total", "Grants refused because the budget was spent, or rejected")
REVERSED = Counter("minwon_compensation_reversed_total", "Grants reversed by a correction entry")
EXCLUDED = Counter(
    "minwon_compensation_breaches_excluded_total", "Missed legal periods the charter excludes, per reason", ["reason"]
)


def initialise(departments: Sequence[str]) -> None:
    """Every series a dashboard or alert names, at 0."""
    zero(VOUCHERS_GRANTED, *({"cause": c} for c in CAUSES))
    zero(EXCLUDED, *({"reason": r} for r in ("immediate", "kind", "supplementation", "extension", "kind_unknown")))

"""Compensation's metrics (docs/metrics.md is the registry)."""

from __future__ import annotations

from prometheus_client import Counter

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

for _cause in CAUSES:  # expose every cause from the start, at zero
    VOUCHERS_GRANTED.labels(cause=_cause)

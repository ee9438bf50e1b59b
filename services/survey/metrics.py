"""Survey's metrics (docs/metrics.md is the registry)."""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import Counter, Gauge

from minwon.telemetry import zero

INVITATIONS = Counter("minwon_survey_invitations_total", "Survey invitations sent")
SKIPPED = Counter("minwon_survey_skipped_total", "Closed complaints not invited, per reason", ["reason"])
RESPONSES = Counter("minwon_survey_responses_total", "Survey responses, per department", ["department"])
LOW_SCORES = Counter(
    "minwon_survey_low_scores_total", "Responses with a low overall score, per department", ["department"]
)
SCORE_MEAN = Gauge("minwon_survey_score_mean", "Mean overall score this year (1-5), per department", ["department"])
ACTIONS_OVERDUE = Gauge("minwon_survey_actions_overdue", "Improvement actions past the charter's deadline")


def initialise(departments: Sequence[str]) -> None:
    """Every series a dashboard or alert names, at 0, for the known departments."""
    zero(SKIPPED, *({"reason": r} for r in ("no_consent", "no_consent_record", "closed_too_long_ago")))
    for metric in (RESPONSES, LOW_SCORES, SCORE_MEAN):
        zero(metric, *({"department": dep} for dep in departments))

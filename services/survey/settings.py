"""Survey's own settings (env prefix ``MINWON_SURVEY_``), built in its bootstrap.

The token key is the host's ``MINWON_SURVEY_SECRET`` (``Settings.survey_secret``).
"""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class SurveySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MINWON_SURVEY_", extra="ignore")

    invite_delay_seconds: float = 86_400.0
    """How long after closure the invitation goes out."""
    token_valid_days: float = 14.0
    """How long a survey link stays valid after the invitation."""
    max_invite_age_days: float = 30.0
    """A closure older than this (a replay of old history) invites nobody."""
    low_score_threshold: int = 2
    """An overall score at or below this alerts the handling department."""
    followup_working_days: int = 5
    """A low score's follow-up task is due at the end of this many working days."""
    improvement_months: int = 3
    """The charter's period for publishing improvements after the results (3 months)."""
    report_title: str = "민원서비스 고객만족도 조사 결과 (customer satisfaction survey)"
    loop_interval_seconds: float | None = None
    """How often due invitations are sent (default: the host's timer interval)."""
    gauge_interval_seconds: float = 60.0
    """How often the score and overdue-action gauges are recomputed from the store."""

"""The deadline service's own settings (``MINWON_DEADLINE_*``), built by its bootstrap.

How often the timer scanner runs is the shared ``MINWON_TIMER_INTERVAL_SECONDS``.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.deadline.domain import STATUTORY_TYPES_PATH


class DeadlineSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MINWON_DEADLINE_", extra="ignore")

    scan_limit: int = Field(200, ge=1, le=10_000, description="Clocks the timer scanner handles per pass at most")
    holiday_page_size: int = Field(
        500, ge=1, le=10_000, description="Open clocks read per page when a holiday is added"
    )
    holiday_pages_per_pass: int = Field(20, ge=1, description="Pages of that recomputation per background pass")
    holiday_interval_seconds: float = Field(
        1.0, gt=0, description="How often the calendar is reloaded and pending holiday recomputations continue"
    )
    gauge_interval_seconds: float = Field(15.0, gt=0, description="How often the open/overdue gauges are counted")
    statutory_types: Path = Field(
        STATUTORY_TYPES_PATH, description="The processing-standard table (민원처리기준표) as JSON"
    )

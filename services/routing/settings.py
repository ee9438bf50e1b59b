"""Routing's own settings (``MINWON_ROUTING_*``), built by its bootstrap."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DATA_DIR = Path(__file__).parent / "data"


class RoutingSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MINWON_ROUTING_", extra="ignore")

    default_department: str = Field(
        "complaint-office", description="Where the default rule sends unmatched complaints for triage (민원과)"
    )
    seed: bool = Field(True, description="Load the sample departments and rules into an empty store at start")
    data_dir: Path = Field(DATA_DIR, description="Folder with departments.json and rules.json")
    queue_interval_seconds: float = Field(1.0, gt=0, description="How often waiting complaints are retried")
    recount_interval_seconds: float = Field(
        1800.0, gt=0, description="How often the load counters are rebuilt from the assignments (drift repair)"
    )
    max_open_per_handler: int = Field(0, ge=0, description="Open complaints a handler takes at most; 0: no cap")

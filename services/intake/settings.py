"""Intake's own settings, built by its bootstrap."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class IntakeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MINWON_", extra="ignore")

    answer_approval_default: bool = Field(
        True, description="MINWON_ANSWER_APPROVAL_DEFAULT: whether a department that set no answer policy needs "
        "the team lead's approval (결재) before its answer closes a complaint")

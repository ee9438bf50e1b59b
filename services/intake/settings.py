"""Intake's own settings, built by its bootstrap."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class IntakeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MINWON_", extra="ignore")

    answer_approval_default: bool = Field(
        True,
        description="MINWON_ANSWER_APPROVAL_DEFAULT: whether a department that set no answer policy needs "
        "the team lead's approval (결재) before its answer closes a complaint",
    )
    receipt_block: int | None = Field(
        None,
        ge=1,
        le=1000,
        description="MINWON_RECEIPT_BLOCK: receipt numbers an intake process reserves at once "
        "(one write to the shared counter per block instead of per complaint, so replicas filing together do not "
        "queue on it; a restart leaves the rest of its block unused). Default: 1 embedded, 10 distributed",
    )

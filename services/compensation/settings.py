"""Compensation's own settings (env prefix ``MINWON_COMPENSATION_``), built in its bootstrap."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

DATA = Path(__file__).parent / "data"


class CompensationSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MINWON_COMPENSATION_", extra="ignore")

    charter_file: Path = DATA / "pocheon.json"
    """The city's charter rules as data; another city points this at its own file."""
    approval_threshold_krw: int | None = 100_000
    """Grants above this amount wait for an approver (None: none do)."""
    default_budget_krw: int | None = None
    """A department's yearly budget until one is set through the API (None: no limit)."""
    breach_settle_seconds: float = 300.0
    """How long a breach waits before it is assessed, so earlier lifecycle events consumed late still count."""
    facts_wait_seconds: float = 86_400.0
    """How long a breach waits for the complaint's received event before it is assessed on its own data."""
    voucher_secret: str = "minwon-development-voucher-secret"
    """HMAC key that derives voucher codes from grant ids; never the development value in production."""
    loop_interval_seconds: float | None = None
    """How often pending breaches are assessed (default: the host's timer interval)."""

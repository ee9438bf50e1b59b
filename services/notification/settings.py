"""The notification service's own settings (env prefix ``MINWON_NOTIFICATION_``).

Built by the bootstrap, never at import time. Provider choices are per
channel: ``dev`` (the default) writes every delivery to the delivery sink in
the service's own store; the others reach real systems.
"""

from __future__ import annotations

from datetime import date, time
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from minwon.settings import DEV_KEY


class NotificationSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MINWON_NOTIFICATION_", extra="ignore", populate_by_name=True)

    # sealing the contact details this service keeps (its own key, not intake's)
    key: str = DEV_KEY
    key_id: str = "n1"
    old_keys: str = ""

    # providers, per channel
    sms_provider: Literal["dev", "gateway"] = "dev"
    """SMS, LMS and KakaoTalk AlimTalk: ``gateway`` posts JSON to ``gateway_url``."""
    email_provider: Literal["dev", "smtp"] = "dev"
    post_provider: Literal["dev", "spool"] = "dev"
    staff_provider: Literal["dev", "webhook"] = "dev"

    gateway_url: str = ""
    gateway_api_key: str = ""
    gateway_sender: str = "1588-0000"
    gateway_timeout_seconds: float = 10.0
    alimtalk_sender_key: str = ""

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    smtp_tls: bool = False
    smtp_timeout_seconds: float = 10.0
    email_from: str = "minwon@localhost"

    spool_dir: Path = Path("var/letters")
    staff_webhook_url: str = ""
    dev_failing_channels: list[str] = Field(default_factory=list)
    """Development only: channels the dev sink fails on purpose (to watch AlimTalk fall back to SMS)."""
    office_contact: str = "120"
    """Named as the contact when an assignment gave no contact for the handler (the 120 call centre)."""

    # links in notices (the survey, the answer on the portal's lookup) are absolute with this base
    public_base_url: str = Field(
        "http://127.0.0.1:8000",
        validation_alias=AliasChoices("MINWON_PUBLIC_BASE_URL", "MINWON_NOTIFICATION_PUBLIC_BASE_URL"),
    )
    """Where citizens reach the portal (env ``MINWON_PUBLIC_BASE_URL``); a trailing slash is ignored."""
    lookup_path: str = "/lookup"
    """The portal's lookup page; the answer link is ``<public_base_url><lookup_path>?receipt_no=<no>``."""
    answer_wait_seconds: float = Field(600.0, gt=0)
    """How long a result notice waits for the sealed answer before it goes without the text."""

    # letters
    org_name: str = "부산광역시"
    letter_font: Path | None = None
    """A TrueType font with Hangul; default: a system Korean font, else the bundled NanumSquare."""

    # quiet hours (SMS and AlimTalk): 21:00–08:00 Asia/Seoul and non-working days
    quiet_start: time = time(21, 0)
    quiet_end: time = time(8, 0)
    quiet_on_non_working_days: bool = True
    extra_holidays: list[date] = Field(default_factory=list)
    """Administrator-added non-working days (임시공휴일), e.g. ``["2026-12-24"]``."""

    # retries
    max_attempts: int = Field(5, ge=1)
    backoff_base_seconds: float = Field(30.0, gt=0)
    backoff_factor: float = Field(2.0, ge=1)
    backoff_max_seconds: float = Field(3600.0, gt=0)
    sending_lease_seconds: float = Field(300.0, gt=0)
    """A notification left "sending" this long (its sender crashed) is tried again."""
    waiting_recheck_seconds: float = Field(3600.0, gt=0)
    """How often a notice waiting for contact details is looked at again (arrival also wakes it)."""

    deliver_interval_seconds: float = Field(5.0, gt=0)
    batch_size: int = Field(100, ge=1)

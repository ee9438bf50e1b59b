"""Settings, read from the environment (see the README's configuration table).

Built once by the entry point and passed down; nothing reads them at import.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_KEY = "bWlud29uLWRldmVsb3BtZW50LWtleS0wMDAwMDAwMDA="  # 32 bytes, base64; never in production
DEV_AUTH_SECRET = "minwon-development-auth-secret-not-for-production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MINWON_", extra="ignore", populate_by_name=True)

    backend: Literal["embedded", "distributed"] = "embedded"
    kafka_bootstrap_servers: str = Field("127.0.0.1:9092", validation_alias="KAFKA_BOOTSTRAP_SERVERS")
    mongodb_uri: str = Field("mongodb://127.0.0.1:27017/", validation_alias="MONGODB_URI")
    kafka_topic_prefix: str = ""
    kafka_partitions: int | None = None
    database_prefix: str = "minwon_"
    data_dir: Path = Path("var")
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    org_code: str = "BUSAN"
    source: str = "https://minwon.example.go.kr"
    pii_key: str = DEV_KEY
    pii_key_id: str = "k1"
    pii_old_keys: str = ""
    contacts_key: str = DEV_KEY
    check_code_secret: str = "minwon-development-check-code-secret"
    survey_secret: str = "minwon-development-survey-secret"
    staff_token: str = "minwon-development-staff-token"
    auth_secret: str = DEV_AUTH_SECRET
    """Signs the built-in accounts' tokens (HS256); empty: no built-in accounts (a provider only)."""
    oidc_issuer: str | None = None
    """The city's OpenID Connect provider, e.g. https://sso.city.go.kr/realms/minwon."""
    oidc_audience: str = "minwon-console"
    """The ``aud`` (or ``azp``) its tokens carry for minwon."""
    received_at_max_age_days: int = 30
    outbox_interval_seconds: float = 1.0
    timer_interval_seconds: float = 1.0
    log_level: str = "INFO"
    otlp_endpoint: str | None = Field(None, validation_alias="OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")

    def database(self, service: str) -> str:
        return f"{self.database_prefix}{service}"

"""Settings, read from the environment (see the README's configuration table).

Built once by the entry point and passed down; nothing reads them at import.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_KEY = "bWlud29uLWRldmVsb3BtZW50LWtleS0wMDAwMDAwMDA="  # 32 bytes, base64; never in production
DEV_AUTH_SECRET = "minwon-development-auth-secret-not-for-production"
DEV_CHECK_CODE_SECRET = "minwon-development-check-code-secret"
DEV_SURVEY_SECRET = "minwon-development-survey-secret"

DEVELOPMENT_SECRETS = {
    "pii_key": DEV_KEY,
    "contacts_key": DEV_KEY,
    "check_code_secret": DEV_CHECK_CODE_SECRET,
    "survey_secret": DEV_SURVEY_SECRET,
    "auth_secret": DEV_AUTH_SECRET,
}
"""The secrets whose defaults are public (they are in this file): a deployment sets its own."""


class DevelopmentSecrets(RuntimeError):
    """A production deployment still runs with a development secret."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MINWON_", extra="ignore", populate_by_name=True)

    env: Literal["development", "production"] = "development"
    """``MINWON_ENV``: ``production`` (or the distributed backend) refuses development secrets."""
    backend: Literal["embedded", "distributed"] = "embedded"
    kafka_bootstrap_servers: str = Field("127.0.0.1:9092", validation_alias="KAFKA_BOOTSTRAP_SERVERS")
    mongodb_uri: str = Field("mongodb://127.0.0.1:27017/", validation_alias="MONGODB_URI")
    mongodb_atomic: str = Field(
        "auto",
        pattern="^(auto|true|false)$",
        description=(
            "Compare-and-set by the server's atomic conditional replace (MongoDB) or by version markers "
            "(FerretDB): auto asks the server's buildInfo once"
        ),
    )
    kafka_topic_prefix: str = ""
    kafka_partitions: int | None = None
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    """``MINWON_KAFKA_SECURITY_PROTOCOL``: ``SASL_SSL`` for a Strimzi listener with SCRAM users
    (docs/operations.md, "Kafka over SASL_SSL"); ``SSL`` with a client certificate for mutual TLS."""
    kafka_sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"] = "SCRAM-SHA-512"
    kafka_sasl_username: str = ""
    """The service's Kafka principal, e.g. ``minwon-intake`` (its ``KafkaUser``)."""
    kafka_sasl_password: str = Field("", repr=False)
    kafka_ssl_cafile: Path | None = None
    """The CA that signed the broker certificates (Strimzi: the cluster CA's ``ca.crt``); unset: system CAs."""
    kafka_ssl_certfile: Path | None = None
    """A client certificate (PEM) for mutual TLS, with ``kafka_ssl_keyfile``."""
    kafka_ssl_keyfile: Path | None = None
    kafka_ssl_keyfile_password: str = Field("", repr=False)
    kafka_replication_factor: int = Field(1, ge=1)
    """Replicas of each topic the services create (the metro overlay: 3)."""
    kafka_min_insync_replicas: int = Field(1, ge=1)
    """``min.insync.replicas`` of each topic the services create (the metro overlay: 2)."""
    kafka_lanes: int = Field(8, ge=1, le=64)
    """How many complaints of a polled batch a consumer group handles at once (a complaint's own events
    always in order): their store writes overlap and go to the server together."""
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
    check_code_secret: str = DEV_CHECK_CODE_SECRET
    survey_secret: str = DEV_SURVEY_SECRET
    auth_secret: str = DEV_AUTH_SECRET
    """Signs the built-in accounts' tokens (HS256); empty: no built-in accounts (a provider only)."""
    oidc_issuer: str | None = None
    """The city's OpenID Connect provider, e.g. https://sso.city.go.kr/realms/minwon."""
    oidc_audience: str = "minwon-console"
    """The ``aud`` (or ``azp``) its tokens carry for minwon."""
    received_at_max_age_days: int = 30
    check_code_max_failures: int = 10
    """Wrong check codes per client address, and per receipt number, in one window; then 429."""
    check_code_window_seconds: int = 900
    trusted_proxies: str = "127.0.0.1,::1"
    """Peers whose ``X-Forwarded-For`` names the client (the web front, a reverse proxy): comma-separated."""
    outbox_interval_seconds: float = 1.0
    outbox_clear_after_seconds: float = 5.0
    """How long published events stay in their document before a write of their own clears them: a write
    of the same document within that clears them instead (0: a clearing write after every publication)."""
    timer_interval_seconds: float = 1.0
    scan_share: float = Field(0.02, gt=0, le=1)
    """The most of a store's time its queries that grow with the store (the outbox relay's recovery
    sweep, the timers' safety nets, gauges counted by a query) take together: after one of ``d``
    seconds the next waits ``d / share`` (``minwon.scans``)."""
    log_level: str = "INFO"
    otlp_endpoint: str | None = Field(None, validation_alias="OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")

    def database(self, service: str) -> str:
        return f"{self.database_prefix}{service}"

    @property
    def production(self) -> bool:
        return self.env == "production" or self.backend == "distributed"

    def development_secrets(self, fields: Iterable[str] | None = None) -> list[str]:
        """The environment variables (of ``fields``; default: all) still at their public development default."""
        wanted = set(DEVELOPMENT_SECRETS if fields is None else fields)
        return [
            f"MINWON_{name.upper()}"
            for name, default in DEVELOPMENT_SECRETS.items()
            if name in wanted and getattr(self, name) == default
        ]


def development_defaults(settings: BaseSettings) -> list[str]:
    """A service's own settings (``MINWON_<SERVICE>_*``) still at a development default: a string
    field whose default is :data:`DEV_KEY` or names itself ``development``."""
    prefix = str(settings.model_config.get("env_prefix", ""))
    found = []
    for name, info in type(settings).model_fields.items():
        default = info.default
        if (
            isinstance(default, str)
            and (default == DEV_KEY or "development" in default)
            and getattr(settings, name) == default
        ):
            found.append(f"{prefix}{name}".upper())
    return found


def refuse_development_secrets(
    settings: Settings, *, fields: Iterable[str] | None = None, also: Iterable[str] = ()
) -> None:
    """In production (``MINWON_ENV=production`` or the distributed backend), fail naming every
    variable still at its development default: of ``fields`` (the secrets the services being
    started use; default: all), and ``also`` (more variables the caller found at their default,
    e.g. from :func:`development_defaults`)."""
    if not settings.production:
        return
    found = settings.development_secrets(fields) + list(also)
    if found:
        why = "MINWON_ENV=production" if settings.env == "production" else "MINWON_BACKEND=distributed"
        raise DevelopmentSecrets(
            f"refusing to start ({why}): {', '.join(found)} "
            f"{'is' if len(found) == 1 else 'are'} still at the development default; "
            "set each to this deployment's own secret (docs/security.md)"
        )

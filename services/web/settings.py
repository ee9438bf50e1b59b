"""The web front's own settings (``MINWON_WEB_*``); built by :func:`services.web.app.routes`."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from minwon.settings import Settings

DATA = Path(__file__).resolve().parent / "data"
DEV_SESSION_SECRET = "minwon-development-web-session-secret"  # never in production


class WebSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MINWON_WEB_", extra="ignore")

    api_url: str | None = Field(
        None,
        description="Where the services' HTTP APIs are; default: this host's own "
        "port (http://127.0.0.1:<MINWON_HTTP_PORT>), as in `minwon run`",
    )
    staff_file: Path = Field(
        DATA / "staff.json",
        description="Sample staff accounts (id, name, role, department, "
        "scrypt password hash) loaded into an empty embedded store on first start",
    )
    directory_seconds: float = Field(
        2.0,
        ge=0,
        description="How often the built-in accounts are re-read: a disabled account is signed out within this time",
    )
    oidc_client_id: str = Field(
        "minwon-console",
        validation_alias="MINWON_OIDC_CONSOLE_CLIENT_ID",
        description="The console's client at the provider (public, PKCE)",
    )
    portal_file: Path = Field(DATA / "portal.json", description="The portal's choices: categories and districts")
    session_secret: str = Field(DEV_SESSION_SECRET, description="Signs the session cookie and the CSRF tokens")
    session_hours: float = Field(9.0, gt=0, description="How long a sign-in lasts (one working day)")
    secure_cookies: bool = Field(False, description="Set Secure on cookies (behind HTTPS)")
    port: int = Field(8080, description="Where `minwon web` (the front alone) listens")
    api_timeout_seconds: float = Field(10.0, gt=0)
    api_concurrency: int = Field(8, ge=1, le=64, description="API calls one page makes at once at most")
    queue_limit: int = Field(500, ge=1, le=5000, description="Open complaints a queue or board reads at most")


def api_base(settings: Settings, own: WebSettings) -> str:
    """``MINWON_WEB_API_URL``, or this host itself: ``minwon run`` serves the APIs on the same port."""
    if own.api_url:
        return own.api_url.rstrip("/")
    host = settings.http_host if settings.http_host not in ("0.0.0.0", "::", "") else "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.http_port}"

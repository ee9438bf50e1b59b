"""minwon's host: every service in one process (``minwon run``), or one of them (``minwon service
intake``), over the generic host of :mod:`minwon.host` with :data:`apps.registry.REGISTRY`."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from litestar import Litestar

from apps.registry import REGISTRY, SERVICES
from minwon import host
from minwon.host import Infrastructure, build_infrastructure
from minwon.service import Clock, Service, system_clock
from minwon.settings import Settings

__all__ = [
    "SERVICES",
    "Infrastructure",
    "build_app",
    "build_infrastructure",
    "build_services",
    "create_app",
    "run",
    "run_service",
    "serve",
]


def build_services(
    settings: Settings, names: Sequence[str], infra: Infrastructure, *, clock: Clock = system_clock
) -> list[Service]:
    return host.build_services(settings, REGISTRY, names, infra, clock=clock)


def create_app(services: Sequence[Service], infra: Infrastructure, **options: Any) -> Litestar:
    """:func:`minwon.host.create_app` with minwon's services' request labels and metrics."""
    return host.create_app(services, infra, registry=REGISTRY, **options)


def build_app(settings: Settings, names: Sequence[str] = SERVICES, *, clock: Clock = system_clock) -> Litestar:
    """The app for ``names``; all of them: with the web console and citizen portal too."""
    return host.build_app(settings, REGISTRY, names, clock=clock)


def serve(names: Sequence[str], settings: Settings) -> None:
    import uvicorn

    from minwon import telemetry

    telemetry.configure_logging(settings.log_level)
    telemetry.configure_tracing("minwon" if len(names) > 1 else f"minwon-{names[0]}", settings.otlp_endpoint)
    app = build_app(settings, names)
    uvicorn.run(app, host=settings.http_host, port=settings.http_port, log_config=None, access_log=False)


def run(port: int | None = None, backend: str | None = None) -> None:
    """``minwon run``: every service in one process (embedded storage unless ``backend`` says otherwise)."""
    settings = Settings(backend=backend) if backend else Settings()
    if port:
        settings.http_port = port
    serve(SERVICES, settings)


def run_service(name: str, port: int | None = None) -> None:
    """``minwon service <name>``: one service (distributed unless ``MINWON_BACKEND`` says otherwise),
    or the web front alone (``web``)."""
    if name == "web":
        from services.web.cli import serve as serve_web

        serve_web(port)
        return
    settings = Settings() if "MINWON_BACKEND" in os.environ else Settings(backend="distributed")
    if port:
        settings.http_port = port
    serve([name], settings)

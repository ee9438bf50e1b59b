"""The host: serves services behind one Litestar app, over the bus and stores built for a backend.

- ``embedded``: one SQLite event log (``var/events.db``) and one SQLite file per
  service database (``var/<service>.db``); every service in one process.
- ``distributed``: Kafka and one MongoDB database per service; usually one
  service per process.

Which services exist, their URL prefixes, secrets and metrics, is a :class:`Registry` handed in
by the application (``apps/registry.py``); this module imports no service. Clients are created
here, inside the app's lifespan, never at import time.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import sqlite3
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from litestar import Litestar, MediaType, Request, Response, get
from litestar.exceptions import HTTPException, SerializationException, ValidationException
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.types import ControllerRouterHandler, ExceptionHandlersMap
from opentelemetry import trace
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from minwon import auth, limits, telemetry
from minwon.bus import Bus, KafkaBus, KafkaSecurity, SqliteBus
from minwon.docstore import DocumentStore, MongoStore, SqliteStore
from minwon.errors import DomainError, TransientError
from minwon.service import Clock, Service, group_of, system_clock
from minwon.settings import DEV_AUTH_SECRET, Settings, development_defaults, refuse_development_secrets
from minwon.turns import RequestsFirst

log = logging.getLogger("minwon.host")

LAG_INTERVAL = 15.0
RECEIPT_PATH = ("routing", "notification")
"""The services a filing passes through before its receipt notice goes out: in one process their
deliveries go before the other services' (:mod:`minwon.turns`)."""


@dataclass(frozen=True)
class ServiceEntry:
    """One service as the host knows it."""

    name: str
    bootstrap: Callable[..., Service]
    """``bootstrap(settings, *, store, bus, clock) -> Service``."""
    prefixes: tuple[str, ...] = ()
    """The URL prefixes of its routes (its requests' ``service`` label; the gateway's table)."""
    secrets: tuple[str, ...] = ()
    """The shared secrets it uses (:class:`minwon.settings.Settings` fields; every service also
    verifies staff tokens with ``auth_secret``). A service is given only these (docker-compose.yml)."""
    settings: tuple[str, ...] = ()
    """Its own settings classes (``module:Class``), whose development defaults production refuses too."""
    initialise_metrics: Callable[[Sequence[str]], None] | None = None
    """Sets every labelled series a dashboard or alert names at 0, given the known departments."""


@dataclass(frozen=True)
class Registry:
    """The services an application is made of, and what one process serving all of them adds."""

    services: tuple[ServiceEntry, ...]
    front: Callable[[Settings], Sequence[ControllerRouterHandler]] | None = None
    """Routes served beside the services when one process serves all of them (a web front)."""
    front_settings: tuple[str, ...] = ()
    departments: Callable[[], Sequence[str]] = tuple
    """The known departments, for the metric series labelled by department."""

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(e.name for e in self.services)

    def entry(self, name: str) -> ServiceEntry:
        for e in self.services:
            if e.name == name:
                return e
        raise KeyError(name)

    @property
    def prefixes(self) -> dict[str, str]:
        """``{URL prefix: service}``."""
        return {prefix: e.name for e in self.services for prefix in e.prefixes}

    def service_of(self, path: str) -> str:
        for prefix, name in self.prefixes.items():
            if path.startswith(prefix):
                return name
        return "host"


def _settings_class(path: str) -> type[Any]:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


async def _watch_lag(bus: Bus) -> None:
    while True:
        try:
            for (group, topic, partition), lag in (await bus.lag()).items():
                telemetry.LAG.labels(group, topic, str(partition)).set(lag)
        except Exception as exc:  # noqa: BLE001 - lag is best effort
            log.debug("lag check failed", extra={"error": type(exc).__name__})
        await asyncio.sleep(LAG_INTERVAL)


def _zero_metrics(services: Sequence[Service], app: Litestar, registry: Registry | None) -> None:
    """Every labelled series a dashboard or an alert rule names, at 0 from the start, for the label
    values known now: the groups' topics, the routes, the registry's departments."""
    from minwon.topics import TOPICS

    groups: dict[str, set[str]] = {}
    for svc in services:
        for group, topics, _ in svc.all_subscriptions():
            groups.setdefault(group, set()).update(topics)
    telemetry.zero_bus(groups, [t.name for t in TOPICS])
    service_of = registry.service_of if registry else _host
    telemetry.zero_http(
        (service_of(r.path_format), m, r.path_format)
        for r in app.routes
        for m in sorted(getattr(r, "methods", ()))
        if m not in ("HEAD", "OPTIONS")
    )
    if registry is None:
        return
    departments = list(registry.departments())
    for svc in services:
        initialise = registry.entry(svc.name).initialise_metrics if svc.name in registry.names else None
        if initialise:
            initialise(departments)


def _host(_: str) -> str:
    return "host"


SHUTDOWN_STEP_SECONDS = 20.0


async def _bounded(step: str, work: Awaitable[None], seconds: float = SHUTDOWN_STEP_SECONDS) -> None:
    """One shutdown step, given ``seconds``: a client that hangs while closing (a consumer
    leaving its group mid-rebalance, say) is left behind, logged with its stack, and the
    process still exits. Nothing is lost: what was not committed is delivered again."""
    task = asyncio.ensure_future(work)
    done, _ = await asyncio.wait({task}, timeout=seconds)
    if task in done:
        if not task.cancelled() and task.exception() is not None:
            log.warning("shutdown step failed", extra={"step": step, "error": repr(task.exception())})
        return
    log.error(
        "shutdown step did not finish; left behind",
        extra={"step": step, "seconds": seconds, "awaiting": _awaiting(task)},
    )
    task.cancel()


def _awaiting(task: asyncio.Future[Any]) -> list[str]:
    """Where a suspended task waits: its chain of awaited coroutines, outermost first."""
    chain: list[str] = []
    coro = task.get_coro() if isinstance(task, asyncio.Task) else None
    while coro is not None and len(chain) < 40:
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
        if frame is not None:
            chain.append(f"{frame.f_code.co_filename}:{frame.f_lineno} {frame.f_code.co_name}")
        coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)
    return chain


@dataclass
class Infrastructure:
    bus: Bus
    stores: dict[str, DocumentStore] = field(default_factory=dict)
    requests_first: RequestsFirst | None = None
    """Embedded: the services share one interpreter, so filings and other changes being answered
    together narrow the log's deliveries to one at a time, and the receipt's path goes before the rest
    (:mod:`minwon.turns`); distributed, each service is its own process."""

    async def close(self) -> None:
        for store in self.stores.values():
            await store.close()
        close = getattr(self.bus, "close", None)
        if close:
            close()


def build_infrastructure(settings: Settings, names: Sequence[str]) -> Infrastructure:
    if settings.backend == "embedded":
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        first = RequestsFirst(group_of(n) for n in RECEIPT_PATH if n in names)
        return Infrastructure(
            bus=SqliteBus(settings.data_dir / "events.db", requests_first=first),
            stores={n: SqliteStore(settings.data_dir / f"{n}.db", scan_share=settings.scan_share) for n in names},
            requests_first=first,
        )
    return Infrastructure(
        bus=KafkaBus(
            settings.kafka_bootstrap_servers,
            client_id=f"minwon-{'-'.join(names)}"[:60],
            prefix=settings.kafka_topic_prefix,
            partitions=settings.kafka_partitions,
            security=KafkaSecurity.from_settings(settings),
            replication_factor=settings.kafka_replication_factor,
            min_insync_replicas=settings.kafka_min_insync_replicas,
            lanes=settings.kafka_lanes,
        ),
        stores={
            n: MongoStore(
                settings.mongodb_uri,
                settings.database(n),
                atomic=settings.mongodb_atomic,
                scan_share=settings.scan_share,
            )
            for n in names
        },
    )


def build_services(
    settings: Settings, registry: Registry, names: Sequence[str], infra: Infrastructure, *, clock: Clock = system_clock
) -> list[Service]:
    return [
        registry.entry(name).bootstrap(settings, store=infra.stores[name], bus=infra.bus, clock=clock) for name in names
    ]


def _domain_error(_: Request, exc: DomainError) -> Response:
    headers = {"Retry-After": str(exc.details.get("retry_after", 5))} if exc.status in (429, 503) else None
    return Response(exc.body(), status_code=exc.status, headers=headers, media_type=MediaType.JSON)


def _validation_error(_: Request, exc: ValidationException) -> Response:
    fields = [
        {"field": item.get("key") or item.get("source") or "body", "message": item.get("message", "")}
        for item in (exc.extra if isinstance(exc.extra, list) else [])
        if isinstance(item, dict)
    ]
    message = "; ".join(f"{f['field']}: {f['message']}" for f in fields) or str(exc.detail)
    return Response(
        {"error": "validation_failed", "message": message, "fields": fields},
        status_code=422 if fields else 400,
        media_type=MediaType.JSON,
    )


def _retry_later(what: str, error: str, message: str, retry_after: int) -> Callable[[Request, Exception], Response]:
    """A 503 with ``Retry-After`` for a failure that passes by itself; logged as a warning, no trace."""

    def handle(_: Request, exc: Exception) -> Response:
        log.warning(what, extra={"error": type(exc).__name__})
        return Response(
            {"error": error, "message": message},
            status_code=503,
            headers={"Retry-After": str(retry_after)},
            media_type=MediaType.JSON,
        )

    return handle


_unavailable = _retry_later("dependency unavailable", "unavailable", "storage or broker unavailable; retry later", 5)
_busy = _retry_later(  # a document kept changing under concurrent writers: the request can be repeated as it was
    "transient failure", "busy", "concurrent changes to the same records; retry shortly", 1
)


def _malformed_body(_: Request, exc: SerializationException) -> Response:
    message = f"the body is not valid JSON ({exc.detail})"
    return Response(
        {"error": "invalid_body", "message": message, "fields": [{"field": "body", "message": message}]},
        status_code=400,
        media_type=MediaType.JSON,
    )


def _http_error(request: Request, exc: HTTPException) -> Response:
    if isinstance(exc.__cause__, SerializationException):  # Litestar's answer to a body it could not decode
        return _malformed_body(request, exc.__cause__)
    return Response(
        {"error": "http_error", "message": exc.detail},
        status_code=exc.status_code,
        headers=exc.headers,
        media_type=MediaType.JSON,
    )


def _internal_error(request: Request, exc: Exception) -> Response:
    """What no other handler answers: logged once with its trace id, which the client can quote."""
    span = trace.get_current_span()
    context = span.get_span_context()
    trace_id = trace.format_trace_id(context.trace_id) if context.is_valid else uuid.uuid4().hex
    span.record_exception(exc)
    span.set_status(trace.Status(trace.StatusCode.ERROR, type(exc).__name__))
    log.error(
        "unhandled error",
        exc_info=exc,
        extra={
            "trace_id": trace_id,
            "method": request.method,
            "error": type(exc).__name__,
            "route": request.scope.get("path_template") or request.scope["path"],
        },
    )
    return Response(
        {
            "error": "internal",
            "message": "an unexpected error; quote the trace id when reporting it",
            "trace_id": trace_id,
        },
        status_code=500,
        media_type=MediaType.JSON,
    )


def _unavailable_errors() -> ExceptionHandlersMap:
    from pymongo.errors import ConnectionFailure, ServerSelectionTimeoutError

    return {
        ConnectionFailure: _unavailable,
        ServerSelectionTimeoutError: _unavailable,
        sqlite3.OperationalError: _unavailable,
        TransientError: _busy,
    }


def create_app(
    services: Sequence[Service],
    infra: Infrastructure,
    *,
    title: str = "minwon",
    extra_routes: Sequence[ControllerRouterHandler] = (),
    verifier: auth.Verifier | None = None,
    registry: Registry | None = None,
) -> Litestar:
    """The app; every request passes :class:`minwon.auth.AuthMiddleware` first (``verifier``: the
    deployment's identity sources; default: built-in accounts with the development secret).
    ``registry`` labels requests by service and zeroes the services' metrics (without: ``host``)."""
    verifier = verifier or auth.Verifier(local_key=DEV_AUTH_SECRET)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        for svc in services:
            svc.subscribe()
        _zero_metrics(services, app, registry)
        await infra.bus.start()
        for svc in services:
            await svc.start()
        lag = asyncio.create_task(_watch_lag(infra.bus), name="lag")
        log.info("started", extra={"services": [s.name for s in services]})
        try:
            yield
        finally:
            lag.cancel()
            for svc in services:
                await _bounded(f"{svc.name} loops", svc.stop())
            await _bounded("bus", infra.bus.stop())
            await _bounded("stores", infra.close())

    @get("/healthz", media_type=MediaType.JSON, include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @get("/readyz", media_type=MediaType.JSON, include_in_schema=False)
    async def readyz() -> Response:
        checks = {svc.name: await svc.ready() for svc in services}
        ok = all(all(c.values()) for c in checks.values())
        return Response({"ready": ok, "checks": checks}, status_code=200 if ok else 503)

    @get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    routes: list[ControllerRouterHandler] = [healthz, readyz, metrics]
    for svc in services:
        routes.extend(svc.routes)
    routes.extend(extra_routes)
    return Litestar(
        route_handlers=routes,
        lifespan=[lifespan],
        # the most specific handler wins (by the exception's MRO); Exception is the last resort
        exception_handlers={
            DomainError: _domain_error,
            ValidationException: _validation_error,
            HTTPException: _http_error,
            SerializationException: _malformed_body,
            **_unavailable_errors(),
            Exception: _internal_error,
        },
        # outermost first: identity before any parsing
        middleware=[
            *([infra.requests_first.middleware] if infra.requests_first else []),
            telemetry.http_middleware(registry.service_of if registry else _host),
            DefineMiddleware(auth.AuthMiddleware, verifier=verifier),
            limits.body_limits(),
        ],
        request_max_body_size=limits.MAX_BODY_BYTES,
        openapi_config=OpenAPIConfig(
            title=title, version="1.0.0", path="/schema", render_plugins=[SwaggerRenderPlugin()]
        ),
        logging_config=None,
        debug=False,
    )


def build_app(
    settings: Settings, registry: Registry, names: Sequence[str] | None = None, *, clock: Clock = system_clock
) -> Litestar:
    """The app for ``names`` (default: every service of ``registry``, with its front). In production
    (distributed, or ``MINWON_ENV=production``) it first refuses development secrets
    (:class:`minwon.settings.DevelopmentSecrets`), before connecting to anything."""
    names = tuple(names or registry.names)
    entries = [registry.entry(n) for n in names]
    front_too = set(names) == set(registry.names) and registry.front is not None
    if settings.production:
        own = [*(c for e in entries for c in e.settings), *(registry.front_settings if front_too else ())]
        also = [name for path in own for name in development_defaults(_settings_class(path)())]
        refuse_development_secrets(
            settings, fields={"auth_secret", *(f for e in entries for f in e.secrets)}, also=also
        )
    infra = build_infrastructure(settings, names)
    services = build_services(settings, registry, names, infra, clock=clock)
    title = "minwon" if len(names) > 1 else f"minwon {names[0]}"
    extra = registry.front(settings) if front_too and registry.front else []
    return create_app(
        services, infra, title=title, extra_routes=extra, verifier=auth.verifier_from(settings), registry=registry
    )

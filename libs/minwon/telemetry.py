"""Metrics, traces and logs shared by every service.

- Metrics: prometheus-client; names ``minwon_<service>_<thing>_<unit|total>``
  (docs/metrics.md is the registry). Bus metrics carry the consumer group.
- Traces: OpenTelemetry; the W3C ``traceparent`` travels in the CloudEvents
  envelope (and, on Kafka, in the message headers), so one complaint's trace
  runs from the HTTP request through every hop.
- Logs: JSON lines with trace/span ids and the receipt number. Callers pass
  ids and codes in ``extra``, never personal data.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, cast

from opentelemetry import context, trace
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from prometheus_client import Counter, Gauge, Histogram

if TYPE_CHECKING:
    from litestar.types import ASGIApp, HTTPScope, Message, Receive, Scope, Send

    from minwon.events import Event

_propagator = TraceContextTextMapPropagator()
tracer = trace.get_tracer("minwon")

PUBLISHED = Counter("minwon_bus_published_total", "Events published, per topic", ["topic"])
CONSUMED = Counter(
    "minwon_bus_consumed_total", "Events handled, per consumer group, topic and outcome", ["group", "topic", "outcome"]
)
RETRIES = Counter("minwon_bus_retries_total", "Handler retries, per consumer group and topic", ["group", "topic"])
DEADLETTERED = Counter(
    "minwon_bus_deadlettered_total", "Events dead-lettered after the retry limit", ["group", "topic"]
)
PROCESSING = Histogram(
    "minwon_bus_processing_seconds",
    "Handler time per event, retries included",
    ["group", "topic"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
LAG = Gauge(
    "minwon_bus_consumer_lag", "Events not yet handled, per group, topic and partition", ["group", "topic", "partition"]
)
HTTP_REQUESTS = Counter("minwon_http_requests_total", "HTTP requests", ["service", "method", "route", "status"])
HTTP_LATENCY = Histogram(
    "minwon_http_request_duration_seconds",
    "HTTP request latency",
    ["service", "method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)


def spans_recorded() -> bool:
    """Whether the tracer provider records spans: not the one :func:`configure_tracing` installs without an
    exporter, whose spans would only carry ids (the ids an event or a request brings suffice for the logs)."""
    return getattr(trace.get_tracer_provider(), "sampler", None) is not ALWAYS_OFF


def inject(event: Event) -> Event:
    """Stamp the current trace context into the event (unless it has one)."""
    if event.traceparent:
        return event
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    if "traceparent" not in carrier:
        return event
    return event.model_copy(update={"traceparent": carrier["traceparent"]})


@contextmanager
def publish_span(system: str, topic: str, event: Event) -> Iterator[Event]:
    """A producer span for one publication, in the trace the event was made in (its traceparent, else the
    current one); yields the event carrying the producer span's context, which consumers continue.
    Where no span is recorded, the event carries the context it was made in, or the current one."""
    if not spans_recorded():
        carried = inject(event)
        if carried.traceparent:
            yield carried
            return
    parent = _propagator.extract({"traceparent": event.traceparent} if event.traceparent else {})
    token = context.attach(parent) if event.traceparent else None
    try:
        with tracer.start_as_current_span(
            f"{topic} publish",
            kind=trace.SpanKind.PRODUCER,
            attributes={
                "messaging.system": system,
                "messaging.destination.name": topic,
                "messaging.operation.type": "send",
                "messaging.message.id": event.id,
                "cloudevents.event_type": event.type,
            },
        ):
            carrier: dict[str, str] = {}
            _propagator.inject(carrier)
            yield (
                event.model_copy(update={"traceparent": carrier["traceparent"]}) if "traceparent" in carrier else event
            )
    finally:
        if token is not None:
            context.detach(token)


@contextmanager
def consume_span(group: str, topic: str, event: Event) -> Iterator[None]:
    """A consumer span for one delivery, in the event's trace. Where no span is recorded, the event's own
    context is made current instead (the logs carry its trace id): a span per delivery was about a tenth
    of ``minwon run``'s CPU under a burst. An event without a context still gets a span, as a new trace."""
    parent = _propagator.extract({"traceparent": event.traceparent} if event.traceparent else {})
    token = context.attach(parent)
    try:
        if event.traceparent and not spans_recorded():
            yield
            return
        with tracer.start_as_current_span(
            f"{topic} process",
            kind=trace.SpanKind.CONSUMER,
            attributes={
                "messaging.system": "kafka",
                "messaging.destination.name": topic,
                "messaging.consumer.group.name": group,
                "messaging.message.id": event.id,
                "cloudevents.event_type": event.type,
                "minwon.receipt_no": event.subject,
            },
        ):
            yield
    finally:
        context.detach(token)


class JsonFormatter(logging.Formatter):
    """One JSON object a line; adds trace/span ids of the current span."""

    # uvicorn adds a colour-coded copy of every message (color_message): never in the JSON
    _skip = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime", "color_message"}

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        ctx = trace.get_current_span().get_span_context()
        if ctx.is_valid:
            out["trace_id"] = f"{ctx.trace_id:032x}"
            out["span_id"] = f"{ctx.span_id:016x}"
        for key, value in record.__dict__.items():
            if key not in self._skip and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


class QuietRepeats(logging.Filter):
    """A library's message (same logger, level and template) repeated within ``window`` seconds is
    dropped; the first one after the window carries ``repeated``, the number dropped. A broker restart
    made aiokafka log "Marking the coordinator dead" some 16,000 times a service in five seconds.
    The project's own loggers (``minwon.*``) are never dropped: their lines differ by their fields."""

    def __init__(self, window: float = 10.0, ticker: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.window, self.ticker = window, ticker
        self._seen: dict[tuple[str, int, str], list[float | int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "minwon" or record.name.startswith("minwon."):
            return True
        key = (record.name, record.levelno, str(record.msg))
        now = self.ticker()
        seen = self._seen.get(key)
        if seen is not None and now - seen[0] < self.window:
            seen[1] += 1
            return False
        if seen is not None and seen[1]:
            record.repeated = seen[1]
        if len(self._seen) >= 1024:  # many different messages: forget them rather than grow
            self._seen.clear()
        self._seen[key] = [now, 0]
        return True


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(QuietRepeats())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("aiokafka", "kafka", "pymongo", "faststream", "httpx", "uvicorn.access"):
        logging.getLogger(noisy).setLevel("WARNING")


def configure_tracing(service_name: str, otlp_endpoint: str | None) -> None:
    """Install an SDK tracer provider; export by OTLP when an endpoint is set.

    Without an endpoint no span is recorded (nothing would read it): every span still gets its
    trace and span ids, which logs carry and events propagate, at a fraction of the cost."""
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

    if isinstance(trace.get_tracer_provider(), TracerProvider):
        return
    provider = TracerProvider(
        resource=Resource.create({"service.name": service_name}),
        sampler=None if otlp_endpoint else ALWAYS_OFF,
    )
    if otlp_endpoint:
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
            from opentelemetry.sdk.trace.export import BatchSpanProcessor

            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=otlp_endpoint)))
        except ImportError:
            logging.getLogger("minwon").warning("OTLP exporter not installed; traces are not exported")
    trace.set_tracer_provider(provider)
    instrument_http_clients()


ACCESS = logging.getLogger("minwon.access")
QUIET_ROUTES = frozenset({"/healthz", "/readyz", "/metrics"})
"""Probes and scrapes: counted, not logged."""


def http_middleware(service_of: Callable[[str], str]) -> Callable[[ASGIApp], ASGIApp]:
    """ASGI middleware: a server span per request (continuing an incoming ``traceparent``),
    and request count and latency per route template."""

    def factory(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            scope = cast("HTTPScope", scope)  # what the check above established
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}
            token = context.attach(_propagator.extract(headers))
            status = {"code": 500}

            async def send_wrapper(message: Message) -> None:
                if message["type"] == "http.response.start":
                    status["code"] = message["status"]
                await send(message)

            start = time.perf_counter()
            ids: dict[str, str] = {}
            try:
                with tracer.start_as_current_span(
                    f"{scope['method']} {scope['path']}",
                    kind=trace.SpanKind.SERVER,
                    attributes={"http.request.method": scope["method"], "url.path": scope["path"]},
                ) as span:
                    ctx = span.get_span_context()
                    if ctx.is_valid:
                        ids = {"trace_id": f"{ctx.trace_id:032x}", "span_id": f"{ctx.span_id:016x}"}
                    await app(scope, receive, send_wrapper)
                    route = scope.get("path_template") or "unmatched"
                    span.update_name(f"{scope['method']} {route}")
                    span.set_attribute("http.route", route)
                    span.set_attribute("http.response.status_code", status["code"])
            finally:
                context.detach(token)
                route = scope.get("path_template") or "unmatched"
                service = service_of(scope["path"])
                seconds = time.perf_counter() - start
                HTTP_REQUESTS.labels(service, scope["method"], route, str(status["code"])).inc()
                HTTP_LATENCY.labels(service, scope["method"], route).observe(seconds)
                if route not in QUIET_ROUTES:
                    # the route template, never the path or the query: no receipt numbers, codes or tokens
                    ACCESS.info(
                        "request",
                        extra={
                            "method": scope["method"],
                            "route": route,
                            "service": service,
                            "status": status["code"],
                            "ms": round(seconds * 1000, 1),
                            **ids,
                        },
                    )

        return middleware

    return factory


# ------------------------------------------------------------- series at zero


def zero(metric: Any, *label_sets: Mapping[str, str]) -> None:
    """Create ``metric``'s series for these label values at 0, so a dashboard or an alert on a fresh
    deployment reads 0 rather than "No data" (Prometheus exports a labelled series only once it exists)."""
    for labels in label_sets:
        metric.labels(**labels)


def zero_bus(groups: Mapping[str, Iterable[str]], topics: Iterable[str]) -> None:
    """The bus's series for every consumer group's topics and every topic published to."""
    for topic in topics:
        zero(PUBLISHED, {"topic": topic})
    for group, subscribed in groups.items():
        for topic in subscribed:
            pair = {"group": group, "topic": topic}
            zero(CONSUMED, *({**pair, "outcome": o} for o in ("ok", "error")))
            zero(RETRIES, pair)
            zero(DEADLETTERED, pair)
            zero(PROCESSING, pair)
            zero(LAG, {**pair, "partition": "0"})  # every topic has a partition 0; the watcher fills in the rest


def zero_http(routes: Iterable[tuple[str, str, str]]) -> None:
    """Request count and latency series, per (service, method, route template), at status 200."""
    for service, method, route in routes:
        zero(HTTP_REQUESTS, {"service": service, "method": method, "route": route, "status": "200"})
        zero(HTTP_LATENCY, {"service": service, "method": method, "route": route})


STORE_COMMANDS = Counter(
    "minwon_store_commands_total",
    "Commands sent to the MongoDB-wire server, per database, command and collection",
    ["database", "command", "collection"],
)
STORE_COMMAND_SECONDS = Counter(
    "minwon_store_command_seconds_total",
    "Seconds until the MongoDB-wire server answered, summed, per database, command and collection",
    ["database", "command", "collection"],
)

STORE_CONFLICTS = Counter(
    "minwon_store_write_conflicts_total",
    "Compare-and-set writes that found the document changed by another writer (decided again), per collection",
    ["collection"],
)


def command_counter() -> Any:
    """A PyMongo command listener feeding ``minwon_store_commands_total`` and
    ``minwon_store_command_seconds_total`` (names only, never content): what a complaint costs the
    document server, per collection, where a query scans or a loop polls."""
    from pymongo import monitoring

    class Commands(monitoring.CommandListener):
        def __init__(self) -> None:
            self._series: dict[tuple[str, str, str], tuple[Any, Any]] = {}
            self._open: dict[tuple[int, int], tuple[Any, Any]] = {}

        def started(self, event: monitoring.CommandStartedEvent) -> None:
            target = event.command.get(event.command_name)
            key = (event.database_name, event.command_name, target if isinstance(target, str) else "")
            series = self._series.get(key)
            if series is None:
                series = self._series[key] = (STORE_COMMANDS.labels(*key), STORE_COMMAND_SECONDS.labels(*key))
            series[0].inc()
            if len(self._open) > 10_000:  # answers never reported (a client torn down): forget them
                self._open.clear()
            self._open[(event.request_id, event.operation_id or 0)] = series

        def _done(self, event: monitoring.CommandSucceededEvent | monitoring.CommandFailedEvent) -> None:
            series = self._open.pop((event.request_id, event.operation_id or 0), None)
            if series is not None:
                series[1].inc(event.duration_micros / 1e6)

        def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
            self._done(event)

        def failed(self, event: monitoring.CommandFailedEvent) -> None:
            self._done(event)

    return Commands()


_mongodb_instrumented = False


def instrument_mongodb() -> None:
    """A client span for every MongoDB command (OpenTelemetry's pymongo instrumentation: command
    monitoring, so the async client too), without the command's content: filters and documents may hold
    personal data, so only the command name, database and collection are recorded. None where no span is
    recorded (:func:`spans_recorded`)."""
    global _mongodb_instrumented
    if _mongodb_instrumented or not spans_recorded():
        return
    from opentelemetry.instrumentation.pymongo import PymongoInstrumentor

    PymongoInstrumentor().instrument(capture_statement=False)
    _mongodb_instrumented = True


_http_instrumented = False


def instrument_http_clients() -> None:
    """A client span for every outgoing HTTP call made with httpx (the web front calling the services,
    webhook deliveries, message providers, the identity provider), with the trace context passed on."""
    global _http_instrumented
    if _http_instrumented:
        return
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    def without_query(span: Any, request: Any) -> None:
        # a query may hold a citizen's check code or a survey token: the recorded URL stops before it
        if span is not None and span.is_recording():
            url = str(request[1] if isinstance(request, tuple) else request.url).split("?", 1)[0]
            span.set_attribute("url.full", url)
            span.set_attribute("http.url", url)

    HTTPXClientInstrumentor().instrument(request_hook=without_query, async_request_hook=_async(without_query))
    _http_instrumented = True


def _async(hook: Callable[..., None]) -> Callable[..., Any]:
    async def run(*args: Any) -> None:
        hook(*args)

    return run

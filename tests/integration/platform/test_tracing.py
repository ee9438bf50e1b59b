"""One complaint's trace runs from the HTTP request through every Kafka hop to the last consumer."""

from __future__ import annotations

import asyncio
import uuid

from litestar.testing import AsyncTestClient
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from apps.host import SERVICES, Infrastructure, build_services, create_app
from minwon import topics
from tests.factories import STAFF, complaint_payload


def _exporter() -> InMemorySpanExporter:
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter


def _groups(exporter: InMemorySpanExporter, trace_id: str) -> set[object]:
    """The consumer groups with a span in the trace."""
    return {
        s.attributes.get("messaging.consumer.group.name")
        for s in exporter.get_finished_spans()
        if f"{s.context.trace_id:032x}" == trace_id and s.attributes
    }


async def test_a_complaint_trace_spans_every_service_it_touches(backend) -> None:
    wanted = {"minwon-routing", "minwon-deadline", "minwon-notification", "minwon-intake"}
    exporter = _exporter()
    trace_id = uuid.uuid4().hex
    infra = Infrastructure(bus=backend.bus(), stores={n: backend.store(n) for n in SERVICES})
    app = create_app(build_services(backend.settings(), SERVICES, infra), infra)
    async with AsyncTestClient(app, timeout=30) as client:
        r = await client.post(
            "/api/v1/complaints",
            json=complaint_payload(),
            headers={"traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"},
        )
        assert r.status_code == 201
        receipt = r.json()["receipt_no"]
        for _ in range(300):
            body = (await client.get(f"/api/v1/notifications?receipt_no={receipt}", headers=STAFF)).json()
            if body["items"]:
                break
            await asyncio.sleep(0.1)
        # the other groups consume on their own time: wait (bounded) for each of them to have its span
        for _ in range(300):
            if wanted <= _groups(exporter, trace_id):
                break
            await asyncio.sleep(0.1)

    spans = [s for s in exporter.get_finished_spans() if f"{s.context.trace_id:032x}" == trace_id]
    groups = _groups(exporter, trace_id)
    assert wanted <= groups, groups
    server = [s for s in spans if s.kind == trace.SpanKind.SERVER]
    assert server and server[0].attributes["http.route"] == "/api/v1/complaints"
    internal = [
        s
        for s in spans
        if s.kind == trace.SpanKind.CONSUMER and s.attributes["messaging.destination.name"] != topics.PUBLIC
    ]  # public: a pseudonym
    assert internal and all(s.attributes.get("minwon.receipt_no") == receipt for s in internal)
    # the producer spans of the hops, and (distributed) the MongoDB commands, in the same trace
    producers = [s for s in spans if s.kind == trace.SpanKind.PRODUCER]
    assert {topics.COMPLAINTS, topics.ROUTING} <= {s.attributes["messaging.destination.name"] for s in producers}
    if backend.name == "distributed":
        mongo = [s for s in spans if s.kind == trace.SpanKind.CLIENT and s.attributes.get("db.system") == "mongodb"]
        assert mongo, sorted({s.name for s in spans})
        assert not any("김" in str(v) or "010-" in str(v) for s in mongo for v in s.attributes.values())


async def test_outgoing_http_calls_get_a_client_span_and_carry_its_trace_context() -> None:
    import httpx

    from minwon.telemetry import instrument_http_clients

    exporter = _exporter()
    instrument_http_clients()
    received: list[bytes] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received.append(await reader.readuntil(b"\r\n\r\n"))
        writer.write(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    tracer = trace.get_tracer("test")
    try:
        with tracer.start_as_current_span("a webhook delivery") as parent:
            async with httpx.AsyncClient() as client:
                url = f"http://127.0.0.1:{port}/hook?code=SECRETCODE7"
                assert (await client.post(url, content=b"{}")).status_code == 204
    finally:
        server.close()
    trace_id = f"{parent.get_span_context().trace_id:032x}"
    [span] = [
        s
        for s in exporter.get_finished_spans()
        if s.kind == trace.SpanKind.CLIENT and f"{s.context.trace_id:032x}" == trace_id
    ]
    assert span.attributes.get("http.request.method", span.attributes.get("http.method")) == "POST"
    assert not any("SECRETCODE7" in str(v) for v in span.attributes.values()), dict(span.attributes)
    headers = received[0].decode("latin-1").lower()
    assert f"traceparent: 00-{trace_id}-{span.context.span_id:016x}" in headers

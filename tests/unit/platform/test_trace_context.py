"""Where no span is recorded (no exporter), a delivery and a publication carry the event's trace context
without making spans of their own: the logs of a consumer still carry the complaint's trace id."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

import pytest
from opentelemetry import context, trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from minwon import telemetry
from minwon.events import Event

TRACE = "0af7651916cd43dd8448eb211c80319c"
PARENT = "b7ad6b7169203331"


def _event(traceparent: str | None) -> Event:
    return Event.new(
        "kr.minwon.complaint.received.v1",
        source="test",
        subject="2026-BUSAN-0000001",
        data={},
        time=datetime(2026, 12, 2, tzinfo=UTC),
    ).model_copy(update={"traceparent": traceparent})


@pytest.fixture
def unrecorded(monkeypatch: pytest.MonkeyPatch) -> None:
    """The provider configure_tracing installs without an exporter (not made global: other tests record)."""
    provider = TracerProvider(sampler=ALWAYS_OFF)
    monkeypatch.setattr(telemetry.trace, "get_tracer_provider", lambda: provider)
    monkeypatch.setattr(telemetry, "tracer", provider.get_tracer("minwon"))


def test_only_the_provider_without_an_exporter_counts_as_not_recording(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(telemetry.trace, "get_tracer_provider", lambda: TracerProvider(sampler=ALWAYS_OFF))
    assert telemetry.spans_recorded() is False
    monkeypatch.setattr(telemetry.trace, "get_tracer_provider", lambda: TracerProvider())
    assert telemetry.spans_recorded() is True


def test_a_delivery_makes_the_events_context_current_and_its_log_lines_carry_its_trace(unrecorded: None) -> None:
    record = logging.LogRecord("minwon.routing", logging.INFO, __file__, 1, "routed", (), None)
    with telemetry.consume_span("minwon-routing", "minwon.complaints.v1", _event(f"00-{TRACE}-{PARENT}-01")):
        ctx = trace.get_current_span().get_span_context()
        line = json.loads(telemetry.JsonFormatter().format(record))
    assert (f"{ctx.trace_id:032x}", f"{ctx.span_id:016x}") == (TRACE, PARENT)
    assert line["trace_id"] == TRACE
    assert not trace.get_current_span().get_span_context().is_valid  # detached after the delivery


def test_a_publication_carries_the_events_own_context_or_the_current_one(unrecorded: None) -> None:
    carried = f"00-{TRACE}-{PARENT}-01"
    with telemetry.publish_span("sqlite", "minwon.complaints.v1", _event(carried)) as out:
        assert out.traceparent == carried
    other = "4bf92f3577b34da6a3ce929d0e0e4736"
    token = context.attach(TraceContextTextMapPropagator().extract({"traceparent": f"00-{other}-00f067aa0ba902b7-01"}))
    try:
        with telemetry.publish_span("sqlite", "minwon.complaints.v1", _event(None)) as out:
            assert out.traceparent is not None and out.traceparent.split("-")[1] == other
    finally:
        context.detach(token)

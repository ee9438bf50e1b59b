"""Structured logs: JSON lines carrying the trace and span of the current span."""

from __future__ import annotations

import json
import logging

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from minwon.telemetry import JsonFormatter


def test_a_log_line_is_json_with_trace_ids_and_the_extra_fields() -> None:
    tracer = TracerProvider().get_tracer("test")
    record = logging.LogRecord("minwon.intake", logging.INFO, __file__, 1, "complaint filed", (), None)
    record.receipt_no = "2026-BUSAN-0000001"
    with tracer.start_as_current_span("request") as span:
        line = json.loads(JsonFormatter().format(record))
        ctx = span.get_span_context()
    assert line["msg"] == "complaint filed" and line["level"] == "INFO"
    assert line["receipt_no"] == "2026-BUSAN-0000001"
    assert line["trace_id"] == f"{ctx.trace_id:032x}" and line["span_id"] == f"{ctx.span_id:016x}"


def test_outside_a_span_there_are_no_trace_ids() -> None:
    record = logging.LogRecord("minwon", logging.WARNING, __file__, 1, "x %s", ("y",), None)
    line = json.loads(JsonFormatter().format(record))
    assert line["msg"] == "x y" and "trace_id" not in line
    assert trace.get_current_span().get_span_context().is_valid is False

"""Structured logs: JSON lines carrying the trace and span of the current span."""

from __future__ import annotations

import json
import logging

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from minwon.telemetry import JsonFormatter, QuietRepeats


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


def _record(name: str, msg: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord(name, logging.WARNING, __file__, 1, msg, args, None)


def test_a_library_message_repeated_in_a_burst_is_written_once_then_counted() -> None:
    now = [0.0]
    quiet = QuietRepeats(window=10.0, ticker=lambda: now[0])
    burst = "Marking the coordinator dead (node %s)for group %s."
    kept = [quiet.filter(_record("aiokafka.consumer.group_coordinator", burst, 1, f"g{i % 6}")) for i in range(16000)]
    assert kept.count(True) == 1 and kept[0] is True
    assert quiet.filter(_record("aiokafka", "Unable to update metadata from [1]"))  # another message: written
    now[0] = 10.5
    after = _record("aiokafka.consumer.group_coordinator", burst, 1, "g0")
    assert quiet.filter(after) and after.repeated == 15999
    assert json.loads(JsonFormatter().format(after))["repeated"] == 15999


def test_the_projects_own_lines_are_never_dropped() -> None:
    quiet = QuietRepeats(window=10.0, ticker=lambda: 0.0)
    lines = [_record("minwon.bus", "dead-lettered %s", i) for i in range(100)]
    assert all(quiet.filter(line) for line in lines)

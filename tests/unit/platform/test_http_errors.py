"""Bad HTTP input gets a 4xx JSON error naming the field; anything unforeseen a 500 logged with its trace id.

The app is the one the host builds, over in-memory fakes, with a few routes of its own.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from litestar import Request, get, post
from litestar.testing import TestClient
from pydantic import BaseModel

from minwon.errors import Invalid
from minwon.host import Infrastructure, create_app
from minwon.limits import MAX_BODY_BYTES, MAX_JSON_DEPTH, body_limits, json_depth
from minwon.outbox import ConcurrencyConflict
from minwon.telemetry import JsonFormatter
from tests.factories import STAFF
from tests.fakes import MemoryBus

JSON = {"Content-Type": "application/json"}


class Note(BaseModel):
    text: str


@post("/notes", status_code=200)
async def add_note(data: Note) -> dict[str, str]:
    return {"text": data.text}


@post("/echo", status_code=200)
async def echo(data: Any) -> Any:
    return data


@post("/form", status_code=200)
async def read_form(request: Request[Any, Any, Any]) -> dict[str, Any]:
    return dict((await request.form()).items())


@get("/boom")
async def boom() -> None:
    raise RuntimeError("the disk is on fire")


@get("/refused")
async def refused() -> None:
    raise Invalid("year", "no such year")


@get("/contended")
async def contended() -> None:
    raise ConcurrencyConflict("noise|수영구|2026-12-02")


@pytest.fixture
def client() -> Iterator[TestClient[Any]]:
    app = create_app(
        [],
        Infrastructure(bus=MemoryBus()),  # type: ignore[arg-type]
        extra_routes=[add_note, echo, read_form, boom, refused, contended],
    )
    with TestClient(app) as test_client:
        test_client.headers.update(STAFF)
        yield test_client


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def field_names(response: Any) -> list[str]:
    return [f["field"] for f in response.json()["fields"]]


# ---------------------------------------------------------------- depth, read from the raw bytes


@pytest.mark.parametrize(
    ("body", "depth"),
    [
        (b"42", 0),
        (b"{}", 1),
        (b'{"a": [1, {"b": []}]}', 4),
        (b'{"a": "[[[{{{", "b": [1]}', 2),
        (rb'{"a": "quote \" then [[[[", "b": {}}', 2),
        (b"not json at all", 0),
        (nested(1000), 1000),
    ],
)
def test_depth_counts_arrays_and_objects_but_not_brackets_inside_strings(body: bytes, depth: int) -> None:
    assert json_depth(body) == depth


def test_a_body_nested_deeper_than_the_limit_is_a_400_naming_body(client: TestClient[Any]) -> None:
    for body in (nested(1000), b'{"text": ' + nested(1000) + b"}", nested(MAX_JSON_DEPTH + 1)):
        r = client.post("/notes", content=body, headers=JSON)
        assert r.status_code == 400, r.text
        assert r.json()["error"] == "invalid_body" and field_names(r) == ["body"]
        assert str(MAX_JSON_DEPTH) in r.json()["message"]


def test_a_body_at_the_limit_reaches_the_route_unchanged(client: TestClient[Any]) -> None:
    r = client.post("/echo", content=nested(MAX_JSON_DEPTH), headers=JSON)
    assert r.status_code == 200 and json_depth(r.content) == MAX_JSON_DEPTH
    assert client.post("/notes", json={"text": "가로등 [고장]"}).json() == {"text": "가로등 [고장]"}


def test_a_body_deeper_than_the_limit_is_refused_whatever_its_content_type(client: TestClient[Any]) -> None:
    for headers in ({"Content-Type": "text/plain"}, {}):
        r = client.post("/echo", content=nested(200), headers=headers)
        assert r.status_code == 400 and field_names(r) == ["body"]


@pytest.mark.parametrize("content_type", ["application/json", "text/plain"])
def test_a_body_that_is_not_json_is_a_400_naming_body(client: TestClient[Any], content_type: str) -> None:
    r = client.post("/notes", content=b"text=hello", headers={"Content-Type": content_type})
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "invalid_body" and field_names(r) == ["body"]


def test_a_body_larger_than_the_limit_is_a_413_naming_body(client: TestClient[Any]) -> None:
    r = client.post("/echo", content=b'"' + b"x" * MAX_BODY_BYTES + b'"', headers=JSON)
    assert r.status_code == 413 and field_names(r) == ["body"]


def test_form_bodies_are_left_to_the_route(client: TestClient[Any]) -> None:
    r = client.post("/form", content=b"q=" + b"[" * 100, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 200 and r.json() == {"q": "[" * 100}


async def test_a_streamed_body_is_checked_whole_and_handed_on_as_sent() -> None:
    seen: list[bytes] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        message = await receive()
        seen.append(message["body"])
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def call(chunks: list[bytes], max_bytes: int = 100) -> int:
        messages = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)]
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return messages.pop(0)

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {"type": "http", "headers": [(b"content-type", b"application/json")]}
        await body_limits(max_bytes=max_bytes, max_depth=3)(app)(scope, receive, send)
        return sent[0]["status"]

    assert await call([b'{"a": ', b"[[1]]", b"}"]) == 204 and seen == [b'{"a": [[1]]}']
    assert await call([b'{"a": ', b"[[[1]]]", b"}"]) == 400
    assert await call([b"[1,", b" 2" * 60, b"]"]) == 413
    assert seen == [b'{"a": [[1]]}']


# ---------------------------------------------------------------- the handlers keep their order


def test_specific_errors_keep_their_own_answers(client: TestClient[Any], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR)
    domain = client.get("/refused")
    assert domain.status_code == 422 and field_names(domain) == ["year"]
    validation = client.post("/notes", json={"title": "no text"})
    assert validation.status_code == 422 and field_names(validation) == ["text"]
    missing = client.get("/nowhere")
    assert missing.status_code == 404 and missing.json()["error"] == "http_error"
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


# ---------------------------------------------------------------- the last resort


def test_an_unhandled_error_is_a_500_logged_once_with_the_requests_trace_id(
    client: TestClient[Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    trace_id = uuid.uuid4().hex
    r = client.get("/boom", headers={"traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"})
    assert r.status_code == 500
    assert r.json() == {"error": "internal", "message": r.json()["message"], "trace_id": trace_id}
    assert "fire" not in r.text
    [record] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert record.name == "minwon.host" and record.exc_info is not None
    line = json.loads(JsonFormatter().format(record))
    assert line["trace_id"] == trace_id and line["route"] == "/boom" and line["error"] == "RuntimeError"
    assert "the disk is on fire" in line["exc"]


def test_without_an_incoming_trace_the_client_and_the_log_share_one_id(
    client: TestClient[Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    r = client.get("/boom")
    assert r.status_code == 500 and re.fullmatch(r"[0-9a-f]{32}", r.json()["trace_id"])
    [record] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert json.loads(JsonFormatter().format(record))["trace_id"] == r.json()["trace_id"]


def test_a_document_that_kept_changing_is_a_503_to_retry_not_a_500(
    client: TestClient[Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    r = client.get("/contended")
    assert r.status_code == 503 and r.headers["Retry-After"] == "1" and r.json()["error"] == "busy"
    assert "수영구" not in r.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.getMessage() for r in caplog.records if r.name == "minwon.host"] == ["transient failure"]

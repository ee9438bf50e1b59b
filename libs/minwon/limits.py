"""Input limits a request body meets before any route decodes it.

JSON decoders (msgspec, pydantic, the standard library) recurse once per level
of nesting, so a body nested a thousand levels deep ends in a ``RecursionError``
and a 500. This ASGI middleware reads the raw bytes first and refuses, with the
usual 4xx JSON body naming ``body``:

- a body larger than :data:`MAX_BODY_BYTES` (413);
- a body whose arrays and objects nest deeper than :data:`MAX_JSON_DEPTH` (400).

Form bodies (``application/x-www-form-urlencoded``, ``multipart/*``) are left to
the route; any other body may be decoded as JSON, so it is checked.
"""

from __future__ import annotations

import json
import re
from array import array
from collections.abc import Callable
from itertools import accumulate
from typing import TYPE_CHECKING

from minwon.errors import DomainError

if TYPE_CHECKING:
    from litestar.types import (
        ASGIApp,
        HTTPRequestEvent,
        HTTPResponseBodyEvent,
        HTTPResponseStartEvent,
        Receive,
        ReceiveMessage,
        Scope,
        Send,
    )

#: No request of any API comes near it (a complaint's text is at most 20,000 characters).
MAX_BODY_BYTES = 1024 * 1024
#: The deepest request model nests three levels; 32 leaves room and stays far from any recursion limit.
MAX_JSON_DEPTH = 32

_FORMS = (b"application/x-www-form-urlencoded", b"multipart/")
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
# an opening bracket becomes 1, a closing one 0xff: -1 read as a signed byte
_STEPS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")


def json_depth(body: bytes) -> int:
    """How deeply arrays and objects nest in ``body`` read as JSON text (0 for a scalar).

    Brackets inside strings do not count; nothing is decoded, so a body that is
    not JSON at all gets a number too and is left for the decoder to refuse.
    """
    steps = _STRING.sub(b"", body).translate(_STEPS, _NOT_BRACKETS)
    return max(accumulate(array("b", steps), initial=0))


def body_limits(max_bytes: int = MAX_BODY_BYTES, max_depth: int = MAX_JSON_DEPTH) -> Callable[[ASGIApp], ASGIApp]:
    """ASGI middleware: refuse a body over ``max_bytes`` or nested deeper than ``max_depth``, else pass
    it on unchanged (the route reads the same bytes)."""

    def factory(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http" or _header(scope, b"content-type").startswith(_FORMS):
                await app(scope, receive, send)
                return
            declared = _header(scope, b"content-length")
            if declared.isdigit() and int(declared) > max_bytes:
                await _refuse(send, _too_large(max_bytes))
                return
            body, replay = await _read(receive, max_bytes)
            if body is None:
                await _refuse(send, _too_large(max_bytes))
                return
            if json_depth(body) > max_depth:
                await _refuse(
                    send,
                    DomainError(
                        "invalid_body",
                        f"the JSON body nests deeper than {max_depth} levels of arrays and objects",
                        400,
                        field="body",
                    ),
                )
                return
            await app(scope, replay, send)

        return middleware

    return factory


def _header(scope: Scope, name: bytes) -> bytes:
    return next((value.strip().lower() for key, value in scope["headers"] if key.lower() == name), b"")


async def _read(receive: Receive, max_bytes: int) -> tuple[bytes | None, Receive]:
    """The whole body (None once it passes ``max_bytes``) and a ``receive`` that hands it to the app again."""
    chunks: list[bytes] = []
    size = 0
    pending: list[ReceiveMessage] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client went away: the app sees it after the body
            pending.append(message)
            break
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        if size > max_bytes:
            return None, receive
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    replayed: HTTPRequestEvent = {"type": "http.request", "body": body, "more_body": False}
    pending.insert(0, replayed)

    async def replay() -> ReceiveMessage:
        return pending.pop(0) if pending else await receive()

    return body, replay


def _too_large(max_bytes: int) -> DomainError:
    return DomainError("too_large", f"the body is larger than {max_bytes} bytes", 413, field="body")


async def _refuse(send: Send, error: DomainError) -> None:
    content = json.dumps(error.body(), ensure_ascii=False).encode()
    start: HTTPResponseStartEvent = {
        "type": "http.response.start",
        "status": error.status,
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(content)).encode())],
    }
    await send(start)
    done: HTTPResponseBodyEvent = {"type": "http.response.body", "body": content, "more_body": False}
    await send(done)

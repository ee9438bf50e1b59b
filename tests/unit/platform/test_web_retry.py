"""The web front tries a request once more when a service answers 503 asking to come back within a
moment (a document that kept changing under concurrent writers), if sending it twice has the effect of
once: a read, or a write under an Idempotency-Key. A longer outage is shown to the person at once."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from services.web import api as web_api
from services.web.api import Api, ApiUnavailable

BUSY = httpx.Response(503, headers={"Retry-After": "0"}, json={"error": "busy"})
DOWN = httpx.Response(503, headers={"Retry-After": "5"}, json={"error": "unavailable"})
FILED = httpx.Response(201, json={"receipt_no": "2026-BUSAN-0000001"})


def _service(*answers: httpx.Response) -> tuple[Callable[[httpx.Request], httpx.Response], list[httpx.Request]]:
    seen: list[httpx.Request] = []
    queue = list(answers)

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return queue.pop(0)

    return answer, seen


async def _call(answer: Callable[[httpx.Request], httpx.Response], method: str, headers: dict[str, str] | None):
    async with httpx.AsyncClient(base_url="http://services", transport=httpx.MockTransport(answer)) as client:
        return await Api(client, staff_token="")._send(method, "/api/v1/complaints", json={}, headers=headers)


async def test_a_busy_answer_to_a_keyed_write_or_a_read_is_tried_once_more() -> None:
    answer, seen = _service(BUSY, FILED)
    response = await _call(answer, "POST", {"Idempotency-Key": "portal:k1"})
    assert response.status_code == 201 and len(seen) == 2
    assert [r.headers["Idempotency-Key"] for r in seen] == ["portal:k1", "portal:k1"]

    answer, seen = _service(BUSY, httpx.Response(200, json={}))
    assert (await _call(answer, "GET", None)).status_code == 200 and len(seen) == 2


@pytest.mark.parametrize(
    ("method", "headers", "answers"),
    [
        ("POST", None, (BUSY, FILED)),  # no key: a second try could file twice
        ("POST", {"Idempotency-Key": "portal:k2"}, (DOWN, FILED)),  # a store down: shown at once
        ("GET", None, (BUSY, BUSY, FILED)),  # once more, not again and again
    ],
)
async def test_other_failures_reach_the_page(method: str, headers: dict[str, str] | None, answers) -> None:  # noqa: ANN001
    answer, seen = _service(*answers)
    with pytest.raises(ApiUnavailable):
        await _call(answer, method, headers)
    assert len(seen) == (2 if answers[1] is BUSY else 1)


def test_only_a_short_wait_is_worth_waiting_for() -> None:
    assert web_api._retry_soon(httpx.Response(503, headers={"Retry-After": "1"})) == 1.0
    assert web_api._retry_soon(httpx.Response(503, headers={"Retry-After": "30"})) is None
    assert web_api._retry_soon(httpx.Response(503, headers={"Retry-After": "Wed, 21 Oct 2026 07:28:00 GMT"})) is None
    assert web_api._retry_soon(httpx.Response(500, headers={"Retry-After": "1"})) is None

"""The web front passes the citizen's address on to the services (X-Forwarded-For), so intake's
wrong-check-code limit counts per citizen and not per web-front replica."""

from __future__ import annotations

import asyncio

import httpx

from services.web.api import CLIENT, Api


async def test_the_page_requests_address_travels_with_each_service_call() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"receipt_no": "2026-BUSAN-0000001"})

    async def one_page(address: str | None) -> None:
        CLIENT.set(address)
        async with httpx.AsyncClient(base_url="http://services", transport=httpx.MockTransport(answer)) as client:
            await Api(client, staff_token="").complaint_for_citizen("2026-BUSAN-0000001", "ABCDE23456")

    await asyncio.gather(asyncio.create_task(one_page("203.0.113.7")), asyncio.create_task(one_page(None)))
    forwarded = sorted(r.headers.get("x-forwarded-for", "") for r in seen)
    assert forwarded == ["", "203.0.113.7"]  # each page's own address, none when unknown

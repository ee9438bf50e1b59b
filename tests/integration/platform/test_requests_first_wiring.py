"""``minwon run`` (embedded) counts the changing requests it answers (its log's deliveries narrow while a
crowd is) and puts the receipt's path first; a distributed service, alone in its process, does neither."""

from __future__ import annotations

from litestar import get, post
from litestar.testing import AsyncTestClient

from minwon import host
from minwon.settings import Settings
from tests.factories import staff_headers


async def test_the_embedded_process_counts_the_requests_it_answers(tmp_path) -> None:  # noqa: ANN001
    infra = host.build_infrastructure(Settings(data_dir=tmp_path / "var"), ["intake"])
    first = infra.requests_first
    assert first is not None
    during: list[tuple[str, int]] = []

    @post("/healthz/answering", include_in_schema=False, status_code=200)
    async def changing() -> dict[str, int]:
        during.append(("POST", first.answering))
        return {"answering": first.answering}

    @get("/healthz/answering", include_in_schema=False)
    async def reading() -> dict[str, int]:
        during.append(("GET", first.answering))
        return {"answering": first.answering}

    try:
        app = host.create_app([], infra, extra_routes=[changing, reading])
        async with AsyncTestClient(app) as client:
            posted = await client.post("/healthz/answering", headers=staff_headers())
            read = await client.get("/healthz/answering", headers=staff_headers())
        assert (posted.status_code, read.status_code) == (200, 200)
        assert during == [("POST", 1), ("GET", 0)]  # a change counted while it was answered; a read never
        assert first.answering == 0  # and no longer once answered
        async with AsyncTestClient(app) as client:
            assert (await client.get("/healthz")).status_code == 200
        assert first.answering == 0
    finally:
        await infra.close()


async def test_the_receipts_path_is_routing_then_notification_when_the_process_runs_them(tmp_path) -> None:  # noqa: ANN001
    from apps.host import SERVICES

    for names, path in (
        (list(SERVICES), {"minwon-routing", "minwon-notification"}),
        (["intake", "deadline", "notification"], {"minwon-notification"}),
    ):
        infra = host.build_infrastructure(Settings(data_dir=tmp_path / "var"), names)
        try:
            assert infra.requests_first is not None and infra.requests_first.first == path
        finally:
            await infra.close()


def test_a_distributed_service_does_not() -> None:
    infra = host.build_infrastructure(Settings(backend="distributed"), ["routing"])
    assert infra.requests_first is None

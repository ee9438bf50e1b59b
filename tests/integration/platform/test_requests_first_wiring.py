"""``minwon run`` (embedded) counts its requests and narrows its log's deliveries while one is answered;
a distributed service, alone in its process, does not."""

from __future__ import annotations

from litestar import get
from litestar.testing import AsyncTestClient

from minwon import host
from minwon.settings import Settings
from tests.factories import staff_headers


async def test_the_embedded_process_counts_the_requests_it_answers(tmp_path) -> None:  # noqa: ANN001
    infra = host.build_infrastructure(Settings(data_dir=tmp_path / "var"), ["intake"])
    first = infra.requests_first
    assert first is not None
    during: list[int] = []

    @get("/healthz/answering", include_in_schema=False)
    async def answering() -> dict[str, int]:
        during.append(first.answering)
        return {"answering": first.answering}

    try:
        app = host.create_app([], infra, extra_routes=[answering])
        async with AsyncTestClient(app) as client:
            response = await client.get("/healthz/answering", headers=staff_headers())
        assert response.status_code == 200
        assert during == [1]  # counted while it was answered
        assert first.answering == 0  # and no longer once answered
        async with AsyncTestClient(app) as client:
            assert (await client.get("/healthz")).status_code == 200
        assert first.answering == 0
    finally:
        await infra.close()


def test_a_distributed_service_does_not() -> None:
    infra = host.build_infrastructure(Settings(backend="distributed"), ["routing"])
    assert infra.requests_first is None

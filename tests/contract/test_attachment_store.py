"""One suite, both adapters of the attachment store: files under the data directory (embedded) and a
GridFS bucket in the service's MongoDB database (distributed; FerretDB locally), with the per-complaint
list kept in the document store beside them."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from minwon.errors import DomainError
from services.intake.attachments_store import AttachmentStore, Blobs, FileBlobs, GridFsBlobs


@pytest.fixture
async def store(backend) -> AsyncIterator[AttachmentStore]:
    db = backend.store("attachments")  # dropped after the test, GridFS bucket included
    blobs: Blobs = (
        GridFsBlobs(backend.infra.mongodb_uri, f"t{backend.tag}_attachments", chunk_bytes=64 * 1024)
        if backend.distributed
        else FileBlobs(backend.tmp / "var" / "attachments")
    )
    yield AttachmentStore(db, blobs)
    await blobs.close()


def _id() -> str:
    return uuid.uuid4().hex


async def test_bytes_round_trip_across_chunks(store: AttachmentStore) -> None:
    id, data = _id(), os.urandom(300_000)  # several GridFS chunks
    await store.put_bytes(id, data)
    assert await store.get_bytes(id) == data
    await store.put_bytes(f"{id}.thumb", b"small")
    assert await store.get_bytes(f"{id}.thumb") == b"small"
    assert await store.get_bytes(_id()) is None


async def test_a_repeated_put_replaces_and_delete_removes(store: AttachmentStore) -> None:
    id = _id()
    await store.put_bytes(id, b"first")
    await store.put_bytes(id, b"second, longer")
    assert await store.get_bytes(id) == b"second, longer"
    assert await store.delete_bytes(id)
    assert await store.get_bytes(id) is None
    assert not await store.delete_bytes(id)


async def test_ids_cannot_name_a_path(store: AttachmentStore) -> None:
    for bad in ("../../etc/passwd", "a/b", "", "X" * 10):
        with pytest.raises(ValueError):
            await store.put_bytes(bad, b"x")


async def test_the_list_grows_in_order_and_check_sees_it(store: AttachmentStore) -> None:
    receipt = f"2026-T-{uuid.uuid4().hex[:8]}"
    assert await store.list(receipt) == []
    seen: list[int] = []

    def check(current: list[dict[str, Any]]) -> None:
        seen.append(len(current))

    await store.add(receipt, [{"id": "a1", "size": 1}], check)
    await store.add(receipt, [{"id": "a2", "size": 2}, {"id": "a3", "size": 3}], check)
    assert [r["id"] for r in await store.list(receipt)] == ["a1", "a2", "a3"]
    assert seen == [0, 1]
    assert await store.list(f"{receipt}-other") == []


async def test_a_refusing_check_writes_nothing(store: AttachmentStore) -> None:
    receipt = f"2026-T-{uuid.uuid4().hex[:8]}"
    await store.add(receipt, [{"id": "a1", "size": 1}], lambda current: None)

    def refuse(current: list[dict[str, Any]]) -> None:
        raise DomainError("too_many_files", "no", 422, field="file")

    with pytest.raises(DomainError):
        await store.add(receipt, [{"id": "a2", "size": 1}], refuse)
    assert [r["id"] for r in await store.list(receipt)] == ["a1"]


async def test_a_count_limit_holds_when_writers_race(store: AttachmentStore) -> None:
    """Compare-and-set: eight writers add one file each under a limit of five; five succeed."""
    receipt = f"2026-T-{uuid.uuid4().hex[:8]}"

    def at_most_five(current: list[dict[str, Any]]) -> None:
        if len(current) >= 5:
            raise DomainError("too_many_files", "at most 5", 422, field="file")

    results = await asyncio.gather(
        *(store.add(receipt, [{"id": f"r{i}", "size": 1}], at_most_five) for i in range(8)), return_exceptions=True
    )
    assert sum(1 for r in results if isinstance(r, DomainError)) == 3
    assert len(await store.list(receipt)) == 5

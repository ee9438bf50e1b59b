"""The pipeline benchmark fills FerretDB with copies of real complaints' documents: the same keys in the same
indexes, markers as stubs, no outbox left to publish (``bench/pipeline.py``, ``docs/performance.md``)."""

from __future__ import annotations

from typing import Any

import pytest

from bench.pipeline import Cloner, clone_mongo
from minwon.docstore import MongoStore
from minwon.outbox import Aggregates, Relay
from minwon.topics import COMPLAINTS


class Quiet:
    """A bus nobody reads: the outbox entries stay in the document as published, waiting to be cleared."""

    async def publish(self, topic: str, event: Any) -> None:
        return None


@pytest.mark.parametrize("backend", ["distributed"], indirect=True)
async def test_copies_keep_their_keys_with_stub_markers_and_empty_outboxes(backend) -> None:  # noqa: ANN001
    from tests.contract.test_outbox import _event

    receipt = "2026-BUSAN-0000042"
    store = backend.store("intake")
    assert isinstance(store, MongoStore)
    relay = Relay(Quiet(), clear_after=3600)  # type: ignore[arg-type]
    complaints = Aggregates(store.collection("complaints"), relay)
    for n in range(3):
        state = {"receipt_no": receipt, "n": n}
        await complaints.apply(receipt, lambda s, state=state: (state, [(COMPLAINTS, _event(receipt))]))
    original = await store.collection("complaints").get(receipt)
    assert original["_v"] == 3 and original["_outbox"]  # published, not yet cleared

    cloner = Cloner([receipt])
    written = await clone_mongo(backend.infra.mongodb_uri, f"t{backend.tag}_", cloner, 0, 5)
    assert written == 5 * (1 + 2)  # each copy: the document and its markers (versions 2 and 3: a create takes none)

    client = store._client  # noqa: SLF001 - the copies as the server holds them
    db = client[f"t{backend.tag}_intake"]
    for n in range(5):
        copy = await store.collection("complaints").get(cloner.receipt(n))
        assert copy["receipt_no"] == cloner.receipt(n) and copy["n"] == 2 and copy["_v"] == 3
        assert copy["_outbox"] == []
        markers = await db["complaints.versions"].find({"_id": {"$regex": f"^{cloner.receipt(n)}#"}}).to_list()
        assert sorted(m["_id"] for m in markers) == [f"{cloner.receipt(n)}#{v}" for v in (2, 3)]
        assert all("doc" not in m and "at" in m for m in markers)
    assert (await db["complaints.versions"].find_one({"_id": f"{receipt}#3"}))["doc"]["n"] == 2  # template kept

"""One suite, both adapters of the document-store port: SQLite (embedded) and MongoDB-wire (FerretDB/MongoDB)."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from minwon.docstore import Collection


@pytest.fixture(params=[False, True], ids=["never-deleted", "deletes"])
async def coll(backend, request: pytest.FixtureRequest) -> Collection:
    """Each test on a collection that never deletes (a create is one insert) and on one declared with
    ``deletes`` (a create also takes the first version marker on a MongoDB-wire server)."""
    store = backend.store("contract")
    return store.collection(f"c{uuid.uuid4().hex[:8]}", deletes=request.param)


@pytest.fixture
async def deleting(backend) -> Collection:
    store = backend.store("contract")
    return store.collection(f"c{uuid.uuid4().hex[:8]}", deletes=True)


async def test_create_get_and_duplicate(coll: Collection) -> None:
    assert await coll.create({"_id": "a", "n": 1, "nested": {"k": "v"}, "items": [1, 2]})
    assert not await coll.create({"_id": "a", "n": 2})
    doc = await coll.get("a")
    assert doc == {"_id": "a", "n": 1, "nested": {"k": "v"}, "items": [1, 2], "_v": 1}
    assert await coll.get("missing") is None


async def test_update_is_compare_and_set(coll: Collection) -> None:
    await coll.create({"_id": "a", "n": 1})
    assert await coll.update({"_id": "a", "n": 2}, expected_version=1)
    assert not await coll.update({"_id": "a", "n": 3}, expected_version=1)
    doc = await coll.get("a")
    assert doc["n"] == 2 and doc["_v"] == 2


async def test_find_filters_sort_limit(coll: Collection) -> None:
    for i in range(10):
        await coll.create(
            {
                "_id": f"d{i}",
                "i": i,
                "even": i % 2 == 0,
                "tag": "x" if i < 5 else "y",
                "at": f"2026-01-{i + 1:02d}T00:00:00.000000+00:00",
                "sub": {"v": i},
            }
        )
    assert [d["i"] for d in await coll.find({"even": True}, sort=[("i", -1)])] == [8, 6, 4, 2, 0]
    assert [d["i"] for d in await coll.find({"i": {"$gte": 3, "$lt": 6}}, sort=[("i", 1)])] == [3, 4, 5]
    assert [d["i"] for d in await coll.find({"tag": {"$in": ["y"]}}, sort=[("i", 1)], limit=2)] == [5, 6]
    assert [d["i"] for d in await coll.find({}, sort=[("i", 1)], skip=8)] == [8, 9]
    assert [d["i"] for d in await coll.find({"sub.v": {"$gt": 7}}, sort=[("i", 1)])] == [8, 9]
    assert [d["i"] for d in await coll.find({"at": {"$lte": "2026-01-02T23:00:00.000000+00:00"}}, sort=[("i", 1)])] == [
        0,
        1,
    ]
    assert await coll.count({"tag": "x"}) == 5
    assert await coll.count({"tag": {"$ne": "x"}}) == 5
    assert await coll.count({"tag": {"$nin": ["x", "y"]}}) == 0
    assert await coll.count({"missing": {"$exists": False}}) == 10
    assert await coll.count({"sub.v": {"$exists": True}}) == 10


async def test_count_by_counts_each_value_in_one_pass(coll: Collection) -> None:
    for i, status in enumerate(["open", "open", "closed", "open", "waiting", None]):
        doc: dict = {"_id": f"d{i}", "k": i % 2}
        if status is not None:
            doc["status"] = status
        await coll.create(doc)
    assert await coll.count_by("status") == {"open": 3, "closed": 1, "waiting": 1, None: 1}
    assert await coll.count_by("status", {"k": 1}) == {"open": 2, None: 1}
    assert await coll.count_by("status", {"status": {"$in": ["gone"]}}) == {}


async def test_all_matches_documents_whose_array_holds_every_value(coll: Collection) -> None:
    await coll.create({"_id": "a", "terms": ["t1", "t2", "t3"], "k": 1})
    await coll.create({"_id": "b", "terms": ["t2", "t4"], "k": 1})
    await coll.create({"_id": "c", "terms": [], "k": 2})
    await coll.create({"_id": "d", "k": 1})
    assert [d["_id"] for d in await coll.find({"terms": {"$all": ["t2"]}}, sort=[("_id", 1)])] == ["a", "b"]
    assert [d["_id"] for d in await coll.find({"terms": {"$all": ["t1", "t2"]}, "k": 1})] == ["a"]
    assert await coll.find({"terms": {"$all": ["t1", "t4"]}}) == []
    assert await coll.count({"terms": {"$all": ["t4"]}, "k": 2}) == 0


async def test_array_element_exists_and_pull(coll: Collection) -> None:
    await coll.create({"_id": "a", "box": [{"id": "1"}, {"id": "2"}, {"id": "3"}]})
    await coll.create({"_id": "b", "box": []})
    assert [d["_id"] for d in await coll.find({"box.0": {"$exists": True}})] == ["a"]
    await coll.pull("a", "box", "id", ["1", "3"])
    assert (await coll.get("a"))["box"] == [{"id": "2"}]
    await coll.pull("a", "box", "id", ["2"])
    assert await coll.find({"box.0": {"$exists": True}}) == []


async def test_increment_is_atomic_under_concurrency(coll: Collection) -> None:
    results = await asyncio.gather(*(coll.increment("seq", "value") for _ in range(25)))
    assert sorted(results) == list(range(1, 26))


async def test_put_delete_and_recreate(deleting: Collection) -> None:
    coll = deleting
    await coll.put({"_id": "a", "n": 1})
    await coll.put({"_id": "a", "n": 2})
    assert (await coll.get("a"))["n"] == 2
    assert await coll.count() == 1
    assert not await coll.create({"_id": "a", "n": 3})
    assert await coll.delete("a")
    assert not await coll.delete("a")
    assert await coll.get("a") is None
    assert await coll.create({"_id": "a", "n": 4})
    assert (await coll.get("a"))["n"] == 4


async def test_put_versions_the_document_as_update_does(deleting: Collection) -> None:
    """Both adapters: a put stores ``_v`` (the caller's own ``_v`` is not trusted), an update compares
    on it, and a put after a delete writes the document again with a version an update accepts."""
    coll = deleting
    await coll.put({"_id": "v", "n": 1, "_v": 99})
    doc = await coll.get("v")
    assert (doc["n"], doc["_v"]) == (1, 1)
    assert not await coll.update({**doc, "n": 0}, expected_version=99)  # a version never stored
    assert await coll.update({**doc, "n": 2}, expected_version=1)
    await coll.put({**doc, "n": 3})  # carries the stale _v 1: put writes over version 2 all the same
    assert await coll.get("v") == {"_id": "v", "n": 3, "_v": 3}
    assert await coll.delete("v")
    assert not await coll.update({"_id": "v", "n": -1}, expected_version=3)  # deleted: nothing to update
    assert await coll.get("v") is None
    await asyncio.wait_for(coll.put({"_id": "v", "n": 4}), timeout=10)
    again = await coll.get("v")
    assert again is not None and again["n"] == 4 and isinstance(again["_v"], int)
    assert await coll.update({**again, "n": 5}, expected_version=again["_v"])
    assert (await coll.get("v"))["n"] == 5


async def test_a_collection_not_declared_with_deletes_refuses_a_delete(backend) -> None:
    coll = backend.store("contract").collection(f"c{uuid.uuid4().hex[:8]}")
    assert await coll.create({"_id": "kept", "n": 1})
    with pytest.raises(TypeError, match="deletes=True"):
        await coll.delete("kept")
    assert (await coll.get("kept"))["n"] == 1


async def test_concurrent_creates_of_one_id_have_exactly_one_winner(coll: Collection) -> None:
    won = await asyncio.gather(*(coll.create({"_id": "one", "n": n}) for n in range(10)))
    assert won.count(True) == 1
    doc = await coll.get("one")
    assert doc["_v"] == 1 and doc["n"] == won.index(True)
    assert await coll.update({**doc, "n": -1}, expected_version=1)
    assert (await coll.get("one"))["_v"] == 2


async def test_concurrent_compare_and_set_has_exactly_one_winner_per_version(coll: Collection) -> None:
    await coll.create({"_id": "a", "n": 0})

    async def bump() -> int:
        while True:
            doc = await coll.get("a")
            if await coll.update({**doc, "n": doc["n"] + 1}, expected_version=doc["_v"]):
                return doc["_v"]

    won = await asyncio.gather(*(bump() for _ in range(20)))
    assert sorted(won) == list(range(1, 21))
    assert (await coll.get("a"))["n"] == 20


async def test_updates_keep_queries_to_the_newest_version(coll: Collection) -> None:
    await coll.create({"_id": "a", "status": "open", "at": "1"})
    for status in ("working", "waiting", "closed"):
        doc = await coll.get("a")
        assert await coll.update({**doc, "status": status}, expected_version=doc["_v"])
    assert await coll.count({"status": "open"}) == 0
    assert [d["status"] for d in await coll.find({})] == ["closed"]
    assert [d["_id"] for d in await coll.find({"_id": "a"})] == ["a"]


async def test_put_and_pull_advance_the_version(coll: Collection) -> None:
    await coll.put({"_id": "p", "box": [{"id": "x"}, {"id": "y"}]})
    assert (await coll.get("p"))["_v"] == 1
    await coll.put({"_id": "p", "box": [{"id": "x"}, {"id": "y"}, {"id": "z"}]})
    assert (await coll.get("p"))["_v"] == 2
    await coll.pull("p", "box", "id", ["x"])
    doc = await coll.get("p")
    assert doc["_v"] == 3 and [b["id"] for b in doc["box"]] == ["y", "z"]


async def test_a_writer_holding_a_long_superseded_version_loses(coll: Collection) -> None:
    await coll.create({"_id": "old", "n": 0})
    stale = await coll.get("old")
    for n in range(1, 40):  # far past the markers any adapter keeps in full
        doc = await coll.get("old")
        assert await coll.update({**doc, "n": n}, expected_version=doc["_v"])
    assert not await coll.update({**stale, "n": -1}, expected_version=stale["_v"])
    assert (await coll.get("old"))["n"] == 39


async def test_a_crash_between_marker_and_document_never_shows_a_mix(infra) -> None:
    """MongoDB-wire layout: a writer died after inserting its version marker and before
    replacing the document. Reads and queries keep the last whole version; the next writer
    rolls the document forward and then wins its own version."""
    from minwon.docstore import MongoStore

    store = MongoStore(infra.mongodb_uri, f"t{uuid.uuid4().hex[:8]}_contract")
    coll = store.collection("crash")
    await coll.create({"_id": "a", "status": "open"})
    await coll._m.insert_one({"_id": "a#2", "doc": {"_id": "a", "_v": 2, "status": "working"}})
    assert (await coll.get("a"))["status"] == "open"
    assert await coll.count({"status": "working"}) == 0
    assert not await coll.update({"_id": "a", "status": "lost"}, expected_version=1)
    doc = await coll.get("a")
    assert (doc["_v"], doc["status"]) == (2, "working")
    assert [d["status"] for d in await coll.find({})] == ["working"]
    assert await coll.update({**doc, "status": "closed"}, expected_version=2)
    assert (await coll.get("a"))["status"] == "closed"
    await store.drop()
    await store.close()


async def test_a_writer_whose_copy_other_replicas_overtook_never_puts_the_document_back(infra, monkeypatch) -> None:
    """MongoDB-wire layout: replica A decides on its copy of version 2 while replica B has written versions
    3 to 5. A's marker collides and it rolls forward from what the store holds, not from its copy: the
    document is not rewritten to version 3 and then 4, and a version whose writer finished only now (5) is
    not undone."""
    from minwon import docstore

    monkeypatch.setattr(docstore, "ROLL_FORWARD_AFTER", 0.5)
    replaced: list[tuple[str, int]] = []
    replace = docstore.MongoCollection._replace

    async def spied(self: docstore.MongoCollection, new: dict, keys: frozenset | None) -> bool:
        replaced.append(("A" if self is a else "B", new["n"]))
        return await replace(self, new, keys)

    monkeypatch.setattr(docstore.MongoCollection, "_replace", spied)
    database = f"t{uuid.uuid4().hex[:8]}_contract"
    stores = docstore.MongoStore(infra.mongodb_uri, database), docstore.MongoStore(infra.mongodb_uri, database)
    a, b = (store.collection("overtaken") for store in stores)
    try:
        await a.create({"_id": "d", "n": 1})
        assert await a.update({"_id": "d", "n": 2}, expected_version=1)
        for n in (3, 4, 5):
            if n == 5:
                await asyncio.sleep(0.6)  # versions 3 and 4 are old enough to roll forward to, 5 is not
            doc = await b.get("d")
            assert await b.update({**doc, "n": n}, expected_version=doc["_v"])
        replaced.clear()
        assert not await a.update({"_id": "d", "n": 99}, expected_version=2)
        assert replaced == []
        assert await b.get("d") == {"_id": "d", "n": 5, "_v": 5}
        assert await a.update({"_id": "d", "n": 6}, expected_version=5)  # read again, it wins the next one
    finally:
        await stores[0].drop()
        for store in stores:
            await store.close()


async def test_a_create_takes_the_first_marker_only_where_documents_are_deleted(infra) -> None:
    """MongoDB-wire layout: a create is one insert of the document in a collection that never deletes,
    and also the marker ``<id>#1`` in one declared with ``deletes``; updates take a marker in both."""
    from minwon.docstore import MongoStore

    store = MongoStore(infra.mongodb_uri, f"t{uuid.uuid4().hex[:8]}_contract")
    try:
        for deletes in (False, True):
            coll = store.collection(f"layout{int(deletes)}", deletes=deletes)
            assert await coll.create({"_id": "a", "n": 1})
            assert (await coll._m.find_one({"_id": "a#1"}) is not None) is deletes
            assert await coll.update({"_id": "a", "n": 2}, expected_version=1)
            assert await coll._m.find_one({"_id": "a#2"}) is not None
            assert not await coll.update({"_id": "a", "n": 3}, expected_version=1)
            assert (await coll.get("a"))["n"] == 2
    finally:
        await store.drop()
        await store.close()


async def test_old_markers_shrink_to_stubs_only_for_documents_worth_it(infra) -> None:
    """MongoDB-wire layout: a marker 16 versions old loses its copy of the document (the update that
    shrinks it costs a read and a rewrite on FerretDB), unless the document is small enough that the
    stub would save no disk: a load counter keeps its markers whole."""
    from minwon.docstore import STUB_WORTH, MongoStore

    store = MongoStore(infra.mongodb_uri, f"t{uuid.uuid4().hex[:8]}_contract")
    try:
        coll = store.collection("stubs")
        for id, pad in (("small", ""), ("big", "x" * STUB_WORTH)):
            assert await coll.create({"_id": id, "n": 0, "pad": pad})
            for n in range(1, 20):  # versions 2 to 20
                assert await coll.update({"_id": id, "n": n, "pad": pad}, expected_version=n)
        markers = {id: [await coll._m.find_one({"_id": f"{id}#{v}"}) for v in range(2, 21)] for id in ("small", "big")}
        whole = {id: [v for v, m in enumerate(found, 2) if m and "doc" in m] for id, found in markers.items()}
        assert whole == {"small": list(range(2, 21)), "big": list(range(5, 21))}
        assert all(m is not None for m in markers["big"][:3])  # versions 2 to 4: stubs, still there
    finally:
        await store.drop()
        await store.close()


async def test_writes_drop_fields_the_new_version_no_longer_has(coll: Collection) -> None:
    await coll.create({"_id": "f", "claim": "token", "status": "sending"})
    doc = await coll.get("f")
    assert await coll.update({"_id": "f", "status": "sent"}, expected_version=doc["_v"])
    assert await coll.get("f") == {"_id": "f", "_v": 2, "status": "sent"}
    assert await coll.count({"claim": "token"}) == 0


async def test_concurrent_writes_go_together_and_each_writer_gets_its_own_outcome(infra) -> None:
    """MongoDB-wire: creates and updates that come while a command is in flight go as one command
    (group commit), and each writer still learns whether it won: a duplicate ``_id`` is that writer's
    alone, and of two writers of one version exactly one wins."""
    from prometheus_client import REGISTRY

    from minwon.docstore import MongoStore

    database = f"t{uuid.uuid4().hex[:8]}_contract"
    store = MongoStore(infra.mongodb_uri, database)

    def sent(command: str, collection: str) -> float:
        labels = {"database": database, "command": command, "collection": collection}
        return REGISTRY.get_sample_value("minwon_store_commands_total", labels) or 0.0

    try:
        coll = store.collection("together")
        await coll.create({"_id": "taken", "n": 0})
        before = sent("insert", "together")
        created = await asyncio.gather(*(coll.create({"_id": f"d{n % 40}", "n": n}) for n in range(60)))
        assert sum(created) == 40
        assert [won for n, won in enumerate(created) if n >= 40] == [False] * 20  # the later writer of each id
        assert not await coll.create({"_id": "taken", "n": 1})
        assert sent("insert", "together") - before <= 10  # 61 inserts, in a few commands
        docs = {d["_id"]: d for d in await coll.find({}, limit=100)}
        assert {docs[f"d{n}"]["n"] for n in range(40)} == set(range(40))

        markers, updates = sent("insert", "together.versions"), sent("update", "together")
        won = await asyncio.gather(
            *(coll.update({**docs[f"d{n % 40}"], "n": 100 + n}, expected_version=1) for n in range(80))
        )
        assert won == [True] * 40 + [False] * 40
        assert sent("insert", "together.versions") - markers <= 10
        assert sent("update", "together") - updates <= 10
        after = {d["_id"]: d for d in await coll.find({}, limit=100)}
        assert all((after[f"d{n}"]["_v"], after[f"d{n}"]["n"]) == (2, 100 + n) for n in range(40))
    finally:
        await store.drop()
        await store.close()

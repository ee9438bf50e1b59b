"""The MongoDB adapter's atomic mode: compare-and-set by the server's own conditional replace, no
version markers. Which mode a server gets is decided from its buildInfo. On FerretDB the mode is
forced here to check its semantics (one writer at a time: FerretDB's conditional replace is not
atomic); its concurrency tests need MongoDB proper (``MINWON_TEST_MONGODB_URI``), and the summary
says whether one was reachable."""

from __future__ import annotations

import os
import uuid

import pytest
from prometheus_client import REGISTRY

from minwon.docstore import MongoStore, atomic_server
from tests.contract import test_docstore as suite

MONGODB = os.environ.get("MINWON_TEST_MONGODB_URI")
SEQUENTIAL = (
    suite.test_create_get_and_duplicate,
    suite.test_update_is_compare_and_set,
    suite.test_find_filters_sort_limit,
    suite.test_array_element_exists_and_pull,
    suite.test_put_delete_and_recreate,
    suite.test_updates_keep_queries_to_the_newest_version,
    suite.test_put_and_pull_advance_the_version,
    suite.test_a_writer_holding_a_long_superseded_version_loses,
    suite.test_writes_drop_fields_the_new_version_no_longer_has,
)
CONCURRENT = (
    suite.test_increment_is_atomic_under_concurrency,
    suite.test_concurrent_compare_and_set_has_exactly_one_winner_per_version,
    suite.test_concurrent_creates_of_one_id_have_exactly_one_winner,
)


def test_the_mode_is_read_from_the_servers_build_info() -> None:
    assert atomic_server({"version": "8.0.4", "gitVersion": "bf0d4d4", "modules": [], "bits": 64})
    assert not atomic_server({"version": "7.0.42", "ferretdbVersion": "v1.24.2", "ferretdbFeatures": {}})


async def test_ferretdb_is_detected_and_gets_the_marker_layout(infra) -> None:
    store = MongoStore(infra.mongodb_uri, f"t{uuid.uuid4().hex[:8]}_mode")
    try:
        assert await store.atomic() is False
        coll = store.collection("c")
        await coll.create({"_id": "a", "n": 1})
        assert await coll.update({"_id": "a", "n": 2}, expected_version=1)
        assert await coll._m.find_one({"_id": "a#2"}) is not None  # the marker is the compare-and-set
    finally:
        await store.drop()
        await store.close()


async def test_every_command_is_counted_per_collection_on_metrics(infra) -> None:
    database = f"t{uuid.uuid4().hex[:8]}_count"
    store = MongoStore(infra.mongodb_uri, database)

    def sent(command: str, collection: str) -> float:
        value = REGISTRY.get_sample_value(
            "minwon_store_commands_total", {"database": database, "command": command, "collection": collection}
        )
        return value or 0.0

    try:
        coll = store.collection("c")
        await coll.create({"_id": "a", "n": 1})  # the document alone: this collection never deletes
        for _ in range(3):
            await coll.get("a")
        assert await coll.update({"_id": "a", "n": 2}, expected_version=1)
        assert sent("find", "c") == 3  # the update knew the fields from the last read
        assert sent("insert", "c.versions") == 1  # the update's marker
        assert sent("insert", "c") == 1
        assert sent("update", "c") == 1
        waited = REGISTRY.get_sample_value(
            "minwon_store_command_seconds_total", {"database": database, "command": "find", "collection": "c"}
        )
        assert waited is not None and 0 < waited < 10  # three answers' time, summed
    finally:
        await store.drop()
        await store.close()


@pytest.mark.parametrize("check", SEQUENTIAL, ids=lambda f: f.__name__.removeprefix("test_"))
async def test_the_atomic_mode_keeps_the_ports_semantics(infra, check) -> None:
    store = MongoStore(infra.mongodb_uri, f"t{uuid.uuid4().hex[:8]}_atomic", atomic="true")
    try:
        coll = store.collection("c", deletes=True)
        await check(coll)
        assert await coll._m.count_documents({}) == 0  # no markers in this mode
    finally:
        await store.drop()
        await store.close()


@pytest.mark.skipif(
    not MONGODB,
    reason="no MongoDB server (MINWON_TEST_MONGODB_URI): the atomic mode's "
    "concurrency contract needs MongoDB proper; FerretDB is not atomic",
)
@pytest.mark.parametrize("check", CONCURRENT, ids=lambda f: f.__name__.removeprefix("test_"))
async def test_on_mongodb_proper_the_atomic_mode_has_one_winner_per_version(check) -> None:
    store = MongoStore(MONGODB or "", f"t{uuid.uuid4().hex[:8]}_atomic")
    try:
        assert await store.atomic() is True
        await check(store.collection("c", deletes=True))
    finally:
        await store.drop()
        await store.close()

"""Writes that go together (``minwon.docstore.Writes``), against a collection double that answers like a
MongoDB-wire server: what goes in which command, and what each writer learns."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pymongo.errors import AutoReconnect, BulkWriteError, DuplicateKeyError

from minwon.docstore import Writes


class Server:
    """One collection: unique ``_id``; each command waits a round trip; ``down`` fails the next command."""

    def __init__(self) -> None:
        self.docs: dict[str, dict[str, Any]] = {}
        self.commands: list[tuple[str, list[str]]] = []
        self.down = False

    async def _trip(self, name: str, ids: list[str]) -> None:
        self.commands.append((name, ids))
        await asyncio.sleep(0.01)
        if self.down:
            self.down = False
            raise AutoReconnect("connection closed")

    async def insert_one(self, doc: dict[str, Any]) -> None:
        await self._trip("insert_one", [doc["_id"]])
        if doc["_id"] in self.docs:
            raise DuplicateKeyError("E11000 duplicate key", 11000)
        self.docs[doc["_id"]] = dict(doc)

    async def insert_many(self, docs: list[dict[str, Any]], ordered: bool) -> None:
        assert not ordered
        await self._trip("insert_many", [d["_id"] for d in docs])
        errors = []
        for index, doc in enumerate(docs):
            if doc["_id"] in self.docs:
                errors.append({"index": index, "code": 11000, "errmsg": "E11000 duplicate key"})
            else:
                self.docs[doc["_id"]] = dict(doc)
        if errors:
            raise BulkWriteError({"writeErrors": errors, "nInserted": len(docs) - len(errors)})

    async def update_one(self, where: dict[str, Any], change: dict[str, Any]) -> None:
        await self._trip("update_one", [where["_id"]])
        self.docs[where["_id"]].update(change["$set"])

    async def bulk_write(self, ops: list[Any], ordered: bool) -> None:
        assert not ordered
        await self._trip("bulk_write", [op._filter["_id"] for op in ops])
        for op in ops:
            self.docs[op._filter["_id"]].update(op._doc["$set"])


async def outcome(write: Any) -> str:
    try:
        await write
    except DuplicateKeyError:
        return "duplicate"
    except AutoReconnect:
        return "unavailable"
    return "ok"


async def sent(server: Server, write: Any) -> asyncio.Future[str]:
    """Start ``write`` and let its command reach the server (it is then in flight)."""
    started = len(server.commands)
    future = asyncio.ensure_future(outcome(write))
    while len(server.commands) == started:
        await asyncio.sleep(0)
    return future


async def test_writes_that_come_during_a_round_trip_go_as_one_command_each_with_its_own_outcome() -> None:
    server = Server()
    server.docs["taken"] = {"_id": "taken"}
    writes = Writes(server)
    first = await sent(server, writes.insert({"_id": "a"}))
    results = await asyncio.gather(*(outcome(writes.insert({"_id": id})) for id in ["b", "taken", "c", "d"]))
    assert (await first, results) == ("ok", ["ok", "duplicate", "ok", "ok"])
    assert server.commands == [("insert_one", ["a"]), ("insert_many", ["b", "taken", "c", "d"])]
    assert set(server.docs) == {"a", "b", "c", "d", "taken"}


async def test_writes_that_come_in_one_turn_of_the_loop_go_together_from_the_start() -> None:
    server = Server()
    writes = Writes(server)
    assert await asyncio.gather(*(outcome(writes.insert({"_id": id})) for id in "abc")) == ["ok"] * 3
    assert server.commands == [("insert_many", ["a", "b", "c"])]


async def test_a_batch_holds_one_write_per_document_so_its_writes_keep_their_order() -> None:
    server = Server()
    server.docs.update({"x": {"_id": "x"}, "y": {"_id": "y"}})
    writes = Writes(server)
    await asyncio.gather(
        writes.update("x", {"$set": {"n": 1}}),
        writes.update("x", {"$set": {"n": 2}}),
        writes.update("y", {"$set": {"n": 3}}),
        writes.update("x", {"$set": {"n": 4}}),
    )
    assert server.commands == [("bulk_write", ["x", "y"]), ("update_one", ["x"]), ("update_one", ["x"])]
    assert (server.docs["x"]["n"], server.docs["y"]["n"]) == (4, 3)


async def test_a_failed_command_reaches_every_writer_in_it_and_the_next_batch_still_goes() -> None:
    server = Server()
    writes = Writes(server)
    server.down = True
    first = await sent(server, writes.insert({"_id": "first"}))
    batch = [asyncio.ensure_future(outcome(writes.insert({"_id": id}))) for id in ("p", "q")]
    assert await first == "unavailable"
    assert await asyncio.gather(*batch) == ["ok", "ok"]
    server.down = True
    assert await asyncio.gather(*(outcome(writes.insert({"_id": id})) for id in ("r", "s", "t"))) == ["unavailable"] * 3
    assert set(server.docs) == {"p", "q"}
    server.down = True
    failed = await asyncio.gather(*(writes.insert({"_id": id}) for id in ("x", "y")), return_exceptions=True)
    assert [type(e) for e in failed] == [AutoReconnect, AutoReconnect] and failed[0] is not failed[1]
    assert await outcome(writes.insert({"_id": "r"})) == "ok"


async def test_a_writer_cancelled_while_it_waits_is_never_sent() -> None:
    server = Server()
    writes = Writes(server)
    going = await sent(server, writes.insert({"_id": "going"}))
    waiting = asyncio.ensure_future(writes.insert({"_id": "cancelled"}))
    kept = asyncio.ensure_future(writes.insert({"_id": "kept"}))
    await asyncio.sleep(0)
    waiting.cancel()
    assert (await going, await outcome(kept)) == ("ok", "ok")
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert [ids for _, ids in server.commands] == [["going"], ["kept"]]


async def test_a_write_concern_the_server_could_not_confirm_fails_every_write_of_the_batch() -> None:
    class Unconfirmed(Server):
        async def insert_many(self, docs: list[dict[str, Any]], ordered: bool) -> None:
            await self._trip("insert_many", [d["_id"] for d in docs])
            errors = [{"index": 0, "code": 11000, "errmsg": "E11000 duplicate key"}]
            concern = [{"code": 64, "errmsg": "waiting for replication timed out"}]
            raise BulkWriteError({"writeErrors": errors, "writeConcernErrors": concern, "nInserted": 1})

    writes = Writes(Unconfirmed())
    results = await asyncio.gather(
        *(writes.insert({"_id": id}) for id in ("dup", "unconfirmed")), return_exceptions=True
    )
    assert [type(r).__name__ for r in results] == ["DuplicateKeyError", "WriteConcernError"]

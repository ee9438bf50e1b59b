"""The document-store port every service persists through, and its two adapters.

A service owns one database (``minwon_<service>``) of collections of JSON
documents keyed by ``_id``. The port is deliberately small — the operations
the services need, each atomic on one document — so that the MongoDB adapter
(PyMongo's ``AsyncMongoClient``) and the embedded SQLite adapter behave the
same; ``tests/contract/test_docstore.py`` runs one suite against both.

Documents carry a ``_v`` version; :meth:`Collection.update` is a
compare-and-set on it, atomic on both adapters (see :class:`MongoCollection`
for how, on servers whose conditional updates are not). ``_id`` is the only
unique key. Queries use a subset of the MongoDB filter language:
equality on (dotted) fields and ``$lt $lte $gt $gte $ne $in $nin $exists``, and ``$all`` on an
array field (every given value is an element; SQLite cannot index it, MongoDB's multikey index can).
Values are JSON: datetimes are stored as UTC ISO-8601 strings (see
:func:`iso`), which sort correctly as text on both backends.
"""

from __future__ import annotations

import asyncio
import copy
import json
import sqlite3
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import msgspec

from minwon import telemetry
from minwon.scans import SHARE, ScanBudget
from minwon.sqlite import SqliteWriter, connect

Doc = dict[str, Any]
Sort = Sequence[tuple[str, int]]


def iso(instant: datetime) -> str:
    """A UTC ISO-8601 string with microseconds: sorts as text like the instants."""
    if instant.tzinfo is None:
        raise ValueError("naive datetime")
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


class Collection(Protocol):
    async def get(self, id: str) -> Doc | None: ...
    async def create(self, doc: Doc) -> bool: ...
    async def update(self, doc: Doc, *, expected_version: int) -> bool: ...
    async def put(self, doc: Doc) -> None: ...
    async def delete(self, id: str) -> bool: ...
    async def find(
        self, where: Mapping[str, Any] | None = None, *, sort: Sort = (), limit: int = 0, skip: int = 0
    ) -> list[Doc]: ...
    async def count(self, where: Mapping[str, Any] | None = None) -> int: ...
    async def count_by(self, field: str, where: Mapping[str, Any] | None = None) -> dict[Any, int]: ...
    async def increment(self, id: str, field: str, by: int = 1) -> int: ...
    async def pull(self, id: str, field: str, key: str, values: Sequence[Any]) -> None: ...
    async def ensure_index(self, *fields: str) -> None: ...

    name: str
    deletes: bool
    """Declared when the collection is asked for: whether its documents may be deleted (and created again).
    A collection that never deletes writes a new document in one insert on every adapter;
    :meth:`delete` refuses there (see :class:`MongoCollection`)."""
    scans: ScanBudget
    """The turns of its store's queries that grow with the store (``minwon.scans``)."""


class DocumentStore(Protocol):
    scans: ScanBudget

    def collection(self, name: str, *, deletes: bool = False) -> Collection: ...
    async def ping(self) -> bool: ...
    async def close(self) -> None: ...
    async def drop(self) -> None: ...


def check_deletable(coll: Collection) -> None:
    """Refuse a delete in a collection not declared with ``deletes`` (on both adapters alike, so the
    embedded tests catch a missing declaration): there a create after a delete would restart the
    id's versions under markers of its earlier life."""
    if not coll.deletes:
        raise TypeError(f"collection {coll.name!r} is not declared with deletes=True; its documents are never deleted")


# --------------------------------------------------------------------------
# MongoDB (any MongoDB-wire server: MongoDB, FerretDB)
# --------------------------------------------------------------------------


class Batches:
    """Single writes from concurrent writers, sent together (group commit): with none in flight a write goes
    at the loop's next turn, with those that came in the same turn; those that come during a command's round
    trip wait for it and go as one command after it. ``send`` returns each write's outcome (``None``: done).
    A batch holds one write per ``_id`` (a later one for the same document waits for the next), so writes to
    one document keep their order; a failed command fails each of its writers with its own copy of the error."""

    LIMIT = 64

    def __init__(self, send: Callable[[list[Any]], Awaitable[list[Exception | None]]]) -> None:
        self._send = send
        self._queue: list[tuple[str, Any, asyncio.Future[None]]] = []
        self._drain: asyncio.Task[None] | None = None

    async def __call__(self, id: str, item: Any) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((id, item, future))
        if self._drain is None or self._drain.done():  # done: ended with a loop that stopped before cleaning up
            self._drain = asyncio.get_running_loop().create_task(self._drain_queue())
        await future

    def _take(self) -> list[tuple[str, Any, asyncio.Future[None]]]:
        """The next batch: the oldest waiting writes, one per ``_id``; a writer cancelled while it waited
        is dropped (its write never went)."""
        batch: list[tuple[str, Any, asyncio.Future[None]]] = []
        rest: list[tuple[str, Any, asyncio.Future[None]]] = []
        ids: set[str] = set()
        for entry in self._queue:
            if entry[2].done():
                continue
            if len(batch) < self.LIMIT and entry[0] not in ids:
                ids.add(entry[0])
                batch.append(entry)
            else:
                rest.append(entry)
        self._queue = rest
        return batch

    async def _drain_queue(self) -> None:
        try:
            while batch := self._take():
                try:
                    outcomes = await self._send([item for _, item, _ in batch])
                except Exception as exc:  # noqa: BLE001 - every writer of the batch gets the failure
                    outcomes = [exc, *(copy.copy(exc) for _ in batch[1:])]  # each raised in its own task
                except BaseException:  # stopped: so are the writers waiting
                    for _, _, future in batch + self._queue:
                        future.cancel()
                    raise
                for (_, _, future), outcome in zip(batch, outcomes, strict=True):
                    if future.done():
                        continue
                    if outcome is None:
                        future.set_result(None)
                    else:
                        future.set_exception(outcome)
        finally:
            if self._drain is asyncio.current_task():
                self._drain = None


class Writes:
    """One collection's inserts and updates by ``_id``, each kind in :class:`Batches`: one unordered
    ``insert_many`` / ``bulk_write`` for the writes that come together, where a duplicate ``_id`` is that
    writer's own ``DuplicateKeyError``. Measured on FerretDB 1.24: an insert in a batch of 8 costs the
    server a fifth of its own command's CPU and the client an eighth; an update two thirds and a quarter
    (docs/architecture.md)."""

    def __init__(self, coll: Any) -> None:
        self._c = coll
        self._insert = Batches(self._inserts)
        self._update = Batches(self._updates)

    async def insert(self, doc: Doc) -> None:
        await self._insert(doc["_id"], doc)

    async def update(self, id: str, change: Doc) -> None:
        await self._update(id, (id, change))

    async def _inserts(self, docs: list[Doc]) -> list[Exception | None]:
        from pymongo.errors import BulkWriteError

        if len(docs) == 1:
            await self._c.insert_one(docs[0])
            return [None]
        outcomes: list[Exception | None] = [None] * len(docs)
        try:
            await self._c.insert_many(docs, ordered=False)
        except BulkWriteError as exc:
            _failed(exc, outcomes)
        return outcomes

    async def _updates(self, changes: list[tuple[str, Doc]]) -> list[Exception | None]:
        from pymongo import UpdateOne
        from pymongo.errors import BulkWriteError

        if len(changes) == 1:
            await self._c.update_one({"_id": changes[0][0]}, changes[0][1])
            return [None]
        outcomes: list[Exception | None] = [None] * len(changes)
        try:
            await self._c.bulk_write([UpdateOne({"_id": id}, change) for id, change in changes], ordered=False)
        except BulkWriteError as exc:
            _failed(exc, outcomes)
        return outcomes


def _bson_size(doc: Doc) -> int:
    import bson

    return len(bson.encode(doc))


def _failed(exc: Any, outcomes: list[Exception | None]) -> None:
    """Each write of an unordered batch that failed gets the error a single write would have raised: a
    duplicate ``_id`` its ``DuplicateKeyError``; and a write concern the server could not confirm (a replica
    set's ``w``) fails every write that did not fail on its own."""
    from pymongo.errors import DuplicateKeyError, OperationFailure, WriteConcernError

    for error in exc.details.get("writeErrors", []):
        kind = DuplicateKeyError if error.get("code") == 11000 else OperationFailure
        outcomes[error["index"]] = kind(error.get("errmsg", ""), error.get("code"), error)
    concern = exc.details.get("writeConcernErrors") or []
    if concern:
        error = concern[-1]
        for index, outcome in enumerate(outcomes):
            if outcome is None:
                outcomes[index] = WriteConcernError(error.get("errmsg", ""), error.get("code"), error)


MARKERS_KEPT = 16
STUB_WORTH = 512
"""Bytes (BSON) a document must exceed for its markers to shrink to stubs: a smaller one's copy costs the
disk about what a stub does, and shrinking it would cost an update (FerretDB: a read, a decode, a rewrite)."""
KEYS_CACHED = 10_000
ROLL_FORWARD_AFTER = 2.0
"""Seconds before another writer rolls a document forward to a marker: the marker's own writer
finishes well within that, so two writers never race to move the same document."""


class MongoCollection:
    """Documents as they are (``{_id, _v, ...}``), compare-and-set by inserting a marker.

    Not every MongoDB-wire server makes a conditional update atomic (FerretDB
    1.x applies ``replace_one({"_id": x, "_v": n}, ...)`` as a read followed by
    a write; measured in ``tests/contract``), but every one rejects a second
    insert of the same ``_id``. So writing version ``n+1`` first inserts the
    marker ``<id>#<n+1>`` (carrying the new document) into a side collection,
    ``<name>.versions``: that insert *is* the compare-and-set. Then the
    document itself is updated by ``_id`` (``$set``/``$unset``).

    Only operations whose cost stays flat as the collection grows are used on
    the path of a write: inserts, ``find_one`` and ``update_one`` by ``_id``.
    (FerretDB 1.24 also looks ``_id`` up for those, but scans the collection
    for ``replace_one``, ``delete_*`` and ``find`` without a limit; measured,
    see docs/architecture.md.) So markers are never deleted: those more than
    ``MARKERS_KEPT`` versions old shrink to stubs, which still make an older
    writer's insert collide (those of a document of ``STUB_WORTH`` bytes or less
    keep their copy: the stub would save no disk worth its update).

    A new document is one insert of the document itself (its ``_id`` is the compare-and-set), unless the
    collection was declared with ``deletes``: there a create first inserts the marker ``<id>#1`` too, so
    that an id deleted and created again continues its versions (a delete leaves a tombstone marker, and
    a create finds it by galloping over the markers from 1). Skipping that marker where nothing is ever
    deleted saves a command and a copy of the document on every create.

    A crash between the two steps leaves the marker ahead of the document:
    readers see the previous version (a consistent state, never a mix), and
    the next writer, finding the marker taken, rolls the document forward to
    it before trying again (once the marker is ``ROLL_FORWARD_AFTER`` old).
    Every filter on the write path is ``{_id}`` alone: FerretDB pushes only
    that down to its index, and answers any other filter by decoding every
    document.
    """

    def __init__(
        self,
        coll: Any,
        versions: Any,
        atomic: Callable[[], Awaitable[bool]] | None = None,
        scans: ScanBudget | None = None,
        *,
        deletes: bool = False,
        writes: tuple[Writes, Writes] | None = None,
    ) -> None:
        self._c = coll
        self._writes, self._marks = writes or (Writes(coll), Writes(versions))
        """The document's and the markers' writes, shared by every handle on the collection (the store's)."""
        self.name: str = coll.name
        self.deletes = deletes
        self.scans = scans or ScanBudget(coll.name)
        self._m = versions
        self._keys: dict[str, tuple[int, frozenset[str]]] = {}
        self._atomic = atomic
        """Whether the server's conditional writes are atomic (decided once per store): then a write is
        one ``replace_one`` with the version in its filter and no marker is kept."""

    @staticmethod
    def _key(id: str, version: int) -> str:
        return f"{id}#{version}"

    def _remember(self, doc: Doc | None) -> Doc | None:
        if doc is not None:
            if len(self._keys) >= KEYS_CACHED:
                self._keys.pop(next(iter(self._keys)))
            self._keys[doc["_id"]] = (int(doc.get("_v", 0)), frozenset(doc))
        return doc

    async def get(self, id: str) -> Doc | None:
        return self._remember(await self._c.find_one({"_id": id}))

    async def _keys_of(self, id: str, version: int) -> frozenset[str] | None:
        """The top-level fields of version ``version`` (to unset those a new version drops)."""
        cached = self._keys.get(id)
        if cached and cached[0] == version:
            return cached[1]
        current = await self._c.find_one({"_id": id})
        if current is None or int(current.get("_v", 0)) != version:
            return None
        return frozenset(current)

    async def _replace(self, new: Doc, keys: frozenset[str] | None) -> bool:
        """Set the document to ``new`` by ``_id`` (the marker insert already decided who writes)."""
        if keys is None:
            return False
        change: dict[str, Any] = {"$set": {k: v for k, v in new.items() if k != "_id"}}
        dropped = keys - set(new)
        if dropped:
            change["$unset"] = dict.fromkeys(dropped, "")
        await self._writes.update(new["_id"], change)
        return True

    async def _write(self, doc: Doc, version: int, *, fresh: bool = False) -> bool:
        from pymongo.errors import DuplicateKeyError

        if self._atomic is not None and await self._atomic():
            return await self._write_atomic(doc, version, fresh=fresh)
        id = doc["_id"]
        new = {**doc, "_v": version}
        if version == 1 and not self.deletes:
            try:  # never deleted: the document's own _id decides, and there is no step to roll forward
                await self._writes.insert(new)
            except DuplicateKeyError:
                return False
            self._remember(new)
            return True
        started = time.time()
        try:
            await self._marks.insert({"_id": self._key(id, version), "doc": new, "at": started})
        except DuplicateKeyError:
            await self._roll_forward(id, version)
            return False
        if version == 1 or fresh:
            try:
                await self._writes.insert(new)
            except DuplicateKeyError:  # a document the markers never saw (written before them)
                return False
        else:
            keys = await self._keys_of(id, version - 1)
            if keys is None:  # not at our base: our base's writer has not finished (or crashed)
                current = await self._c.find_one({"_id": id})
                if current is None or (
                    int(current.get("_v", 0)) < version - 1 and not await self._marked(id, version - 1)
                ):
                    # no such base version (one never stored, or the document deleted): our marker
                    # must not stand for a write that did not happen
                    await self._m.delete_one({"_id": self._key(id, version)})
                    return False
                if int(current.get("_v", 0)) < version:  # the marker decided: ours is the newest
                    keys = frozenset(current)
            if keys is not None:
                await self._replace(new, keys)
        if time.time() - started > ROLL_FORWARD_AFTER / 2:
            # Stalled long enough for another writer to have moved on from our marker: make
            # sure our late write did not put the document behind its newest marker.
            await self._roll_forward(id, version + 1)
        self._remember(new)
        if version > MARKERS_KEPT and _bson_size(new) > STUB_WORTH:
            await self._marks.update(self._key(id, version - MARKERS_KEPT), {"$unset": {"doc": ""}})
        return True

    async def _write_atomic(self, doc: Doc, version: int, *, fresh: bool = False) -> bool:
        """MongoDB proper: the version in the filter makes ``replace_one`` the compare-and-set."""
        from pymongo.errors import DuplicateKeyError

        new = {**doc, "_v": version}
        if version == 1 or fresh:
            try:
                await self._writes.insert(new)
            except DuplicateKeyError:
                return False
            return True
        result = await self._c.replace_one({"_id": doc["_id"], "_v": version - 1}, new)
        return result.matched_count == 1

    async def _marked(self, id: str, version: int) -> bool:
        return await self._m.find_one({"_id": self._key(id, version)}, {"_id": 1}) is not None

    async def _roll_forward(self, id: str, version: int) -> None:
        """The marker of ``version`` exists: make sure the document reached it (a writer that
        crashed after its marker, or one still in flight: both write the same content)."""
        marker = await self._m.find_one({"_id": self._key(id, version)})
        if marker is None or time.time() - float(marker.get("at", 0)) < ROLL_FORWARD_AFTER:
            return  # its writer is (most likely) still at work
        if marker.get("deleted"):
            if (await self._c.find_one({"_id": id}, {"_v": 1}) or {}).get("_v") == version - 1:
                await self._c.delete_one({"_id": id})
            return
        if "doc" not in marker:
            return
        if version == 1:
            from pymongo.errors import DuplicateKeyError

            if await self._m.find_one({"_id": self._key(id, 2)}, {"_id": 1}) is not None:
                return  # the document went on from its first version (and may have been deleted since)
            try:
                await self._writes.insert(marker["doc"])
            except DuplicateKeyError:
                pass
        elif await self._c.find_one({"_id": id}, {"_id": 1}) is None:  # re-created after a delete
            from pymongo.errors import DuplicateKeyError

            if await self._m.find_one({"_id": self._key(id, version + 1)}, {"_id": 1}) is None:
                try:
                    await self._writes.insert(marker["doc"])
                except DuplicateKeyError:
                    pass
        else:
            # the document as the store holds it, never this process's copy: a writer that finds a marker
            # taken may have held its copy while other processes wrote many versions, and rolling the
            # document "forward" from that copy would put it back to this marker's version
            current = await self._c.find_one({"_id": id})
            at = int(current.get("_v", 0)) if current else version
            if current is not None and at == version - 1:
                await self._replace(marker["doc"], frozenset(current))
                at = version
            # the marker after the document's version, an earlier one than this or a newer one
            if await self._m.find_one({"_id": self._key(id, at + 1)}, {"_id": 1}) is not None:
                await self._roll_forward(id, at + 1)

    async def create(self, doc: Doc) -> bool:
        if await self._write(doc, 1):
            return True
        if not self.deletes or (self._atomic is not None and await self._atomic()):
            return False
        id = doc["_id"]
        if await self._c.find_one({"_id": id}, {"_id": 1}) is not None:
            return False
        last, marker = await self._last_marker(id)  # deleted before (or a writer crashed)
        if marker is None or not marker.get("deleted"):
            await self._roll_forward(id, last)
            return False
        return await self._write(doc, last + 1, fresh=True)

    async def _last_marker(self, id: str) -> tuple[int, Doc | None]:
        """The newest marker of ``id``, by galloping and then halving over versions: a few
        lookups by ``_id`` (markers are contiguous: each version follows the one before)."""

        async def exists(v: int) -> bool:
            return await self._m.find_one({"_id": self._key(id, v)}, {"_id": 1}) is not None

        low, high = 0, 1
        while await exists(high):
            low, high = high, high * 2
        while high - low > 1:
            mid = (low + high) // 2
            low, high = (mid, high) if await exists(mid) else (low, mid)
        return low, (await self._m.find_one({"_id": self._key(id, low)}) if low else None)

    async def update(self, doc: Doc, *, expected_version: int) -> bool:
        return await self._write(doc, expected_version + 1)

    async def put(self, doc: Doc) -> None:
        """Create or replace, at the next version: absent (never written, or deleted) it is a create,
        which continues a deleted id's versions."""
        while True:
            latest = await self.get(doc["_id"])
            if await (self._write(doc, int(latest["_v"]) + 1) if latest else self.create(doc)):
                return

    async def delete(self, id: str) -> bool:
        """Rare (an agency removing a subscription): a tombstone marker takes the next version, so a
        later create() continues the id's versions."""
        from pymongo.errors import DuplicateKeyError

        check_deletable(self)
        if self._atomic is not None and await self._atomic():
            self._keys.pop(id, None)
            return (await self._c.delete_one({"_id": id})).deleted_count == 1
        while True:
            latest = await self.get(id)
            if latest is None:
                return False
            version = int(latest["_v"]) + 1
            try:
                await self._marks.insert({"_id": self._key(id, version), "deleted": True, "at": time.time()})
            except DuplicateKeyError:
                await self._roll_forward(id, version)
                continue
            self._keys.pop(id, None)
            await self._c.delete_one({"_id": id})
            return True

    async def find(
        self, where: Mapping[str, Any] | None = None, *, sort: Sort = (), limit: int = 0, skip: int = 0
    ) -> list[Doc]:
        cursor = self._c.find(dict(where or {}))
        if sort:
            cursor = cursor.sort(list(sort))
        if skip:
            cursor = cursor.skip(skip)
        if limit:
            cursor = cursor.limit(limit)
        return list(await cursor.to_list())

    async def count(self, where: Mapping[str, Any] | None = None) -> int:
        return await self._c.count_documents(dict(where or {}))

    async def count_by(self, field: str, where: Mapping[str, Any] | None = None) -> dict[Any, int]:
        """How many documents hold each value of ``field`` (``None``: absent), in one pass: a server
        that scans for the filter scans once, not once per value."""
        pipeline = [{"$match": dict(where or {})}, {"$group": {"_id": f"${field}", "n": {"$sum": 1}}}]
        cursor = await self._c.aggregate(pipeline)
        return {row["_id"]: int(row["n"]) async for row in cursor}

    async def increment(self, id: str, field: str, by: int = 1) -> int:
        while True:
            latest = await self.get(id)
            value = int((latest or {}).get(field, 0)) + by
            if await self._write({**(latest or {"_id": id}), field: value}, int(latest["_v"]) + 1 if latest else 1):
                return value

    async def pull(self, id: str, field: str, key: str, values: Sequence[Any]) -> None:
        drop = set(values)
        while True:
            latest = await self.get(id)
            if latest is None:
                return
            kept = [x for x in latest.get(field, []) if x.get(key) not in drop]
            if await self._write({**latest, field: kept}, int(latest["_v"]) + 1):
                return

    async def ensure_index(self, *fields: str) -> None:
        await self._c.create_index([(f, 1) for f in fields])


def atomic_server(build_info: Mapping[str, Any]) -> bool:
    """Does the server behind ``buildInfo`` make a filtered ``replace_one`` atomic? MongoDB does;
    FerretDB (which names itself there) applies it as a read and a write."""
    return not any(str(key).lower().startswith("ferretdb") for key in build_info)


class MongoStore:
    """One database. Writes are compare-and-set by the server's own atomic conditional replace on
    MongoDB, and by inserting version markers (:class:`MongoCollection`) where conditional writes are
    not atomic; ``atomic`` (``MINWON_MONGODB_ATOMIC``): ``auto`` asks the server (``buildInfo``) once,
    ``true`` / ``false`` decide without asking."""

    def __init__(self, uri: str, database: str, *, atomic: str = "auto", scan_share: float = SHARE) -> None:
        from pymongo import AsyncMongoClient

        telemetry.instrument_mongodb()  # before the client: its command listener is registered globally
        self._client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
            uri, tz_aware=True, serverSelectionTimeoutMS=5000, event_listeners=[telemetry.command_counter()]
        )
        self._db = self._client[database]
        self._choice = atomic.strip().lower()
        self._mode: bool | None = {"true": True, "false": False}.get(self._choice)
        self.scans = ScanBudget(database, scan_share)
        self._writes: dict[str, tuple[Writes, Writes]] = {}

    async def atomic(self) -> bool:
        if self._mode is None:
            self._mode = atomic_server(await self._client.admin.command("buildInfo"))
        return self._mode

    def collection(self, name: str, *, deletes: bool = False) -> MongoCollection:
        if name not in self._writes:
            self._writes[name] = (Writes(self._db[name]), Writes(self._db[f"{name}.versions"]))
        return MongoCollection(
            self._db[name],
            self._db[f"{name}.versions"],
            self.atomic,
            self.scans,
            deletes=deletes,
            writes=self._writes[name],
        )

    async def ping(self) -> bool:
        try:
            await self._db.command("ping")
        except Exception:
            return False
        return True

    async def close(self) -> None:
        await self._client.close()

    async def drop(self) -> None:
        await self._client.drop_database(self._db.name)


# --------------------------------------------------------------------------
# Embedded: one SQLite file per service database
# --------------------------------------------------------------------------

_OPS = {"$lt": "<", "$lte": "<=", "$gt": ">", "$gte": ">="}


def _path(field: str) -> str:
    """A JSON path for SQLite: ``a.b.0`` -> ``$.a.b[0]``."""
    out = "$"
    for part in field.split("."):
        if part.isdigit():
            out += f"[{part}]"
        elif part.replace("_", "").isalnum():
            out += f'."{part}"'
        else:
            raise ValueError(f"bad field name {field!r}")
    return out


def _column(field: str) -> str:
    """The SQL for a field: ``_id`` is the table's primary key column (the same value, indexed, so a
    range or an order on it is a walk of the key); any other field is read from the JSON."""
    return "id" if field == "_id" else f"json_extract(doc, '{_path(field)}')"


def _sql_value(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return value


def _compile(where: Mapping[str, Any] | None) -> tuple[str, list[Any]]:
    """A WHERE clause. Paths are written literally (they are validated by :func:`_path`), so
    SQLite can use the expression indexes made by :meth:`SqliteCollection.ensure_index`."""
    clauses: list[str] = []
    params: list[Any] = []
    for field, cond in (where or {}).items():
        col = _column(field)
        if isinstance(cond, Mapping) and cond and all(k.startswith("$") for k in cond):
            for op, value in cond.items():
                if op in _OPS:
                    clauses.append(f"{col} {_OPS[op]} ?")
                    params.append(_sql_value(value))
                elif op == "$ne":
                    clauses.append(f"({col} IS NULL OR {col} != ?)")
                    params.append(_sql_value(value))
                elif op in ("$in", "$nin"):
                    values = list(value)
                    marks = ",".join("?" * len(values)) or "NULL"
                    if op == "$in":
                        clauses.append(f"{col} IN ({marks})")
                    else:
                        clauses.append(f"({col} IS NULL OR {col} NOT IN ({marks}))")
                    params += [_sql_value(v) for v in values]
                elif op == "$all":
                    for v in value:
                        clauses.append(f"EXISTS (SELECT 1 FROM json_each(doc, '{_path(field)}') WHERE value = ?)")
                        params.append(_sql_value(v))
                elif op == "$exists":
                    clauses.append(f"json_type(doc, '{_path(field)}') IS {'NOT ' if value else ''}NULL")
                else:
                    raise ValueError(f"unsupported operator {op}")
        elif cond is None:
            clauses.append(f"{col} IS NULL")
        else:
            clauses.append(f"{col} = ?")
            params.append(_sql_value(cond))
    return (" AND ".join(clauses) or "1=1"), params


class SqliteCollection:
    """A table ``c_<name>`` of ``(id, doc)``; every call runs on the file's own thread, and
    writes share group commits with the other writes of the same moment."""

    def __init__(self, store: SqliteStore, name: str, *, deletes: bool = False) -> None:
        if not name.replace("_", "").isalnum():
            raise ValueError(f"bad collection name {name!r}")
        self._w = store._w
        self.name = name
        self.deletes = deletes
        self.scans = store.scans
        self._t = f'"c_{name}"'
        with self._w.lock:
            self._w.conn.execute(f"CREATE TABLE IF NOT EXISTS {self._t} (id TEXT PRIMARY KEY, doc TEXT NOT NULL)")
            # the outbox relay's recovery sweep (``{"_outbox.0": {"$exists": True}}``) reads this partial
            # index of the few documents with events not yet published, not every row (1 s at 90,000)
            self._w.conn.execute(
                f'CREATE INDEX IF NOT EXISTS "px_c_{name}_outbox" ON {self._t} (id) '
                f"WHERE json_type(doc, '{_path('_outbox.0')}') IS NOT NULL"
            )

    async def _read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return await self._w.call(lambda: self._w.conn.execute(sql, params).fetchall())

    def _current(self, conn: sqlite3.Connection, id: str) -> Doc | None:
        row = conn.execute(f"SELECT doc FROM {self._t} WHERE id = ?", (id,)).fetchone()
        return _load(row[0]) if row else None

    async def get(self, id: str) -> Doc | None:
        rows = await self._w.lookup(f"SELECT doc FROM {self._t} WHERE id = ?", (id,))
        return _load(rows[0][0]) if rows else None

    async def create(self, doc: Doc) -> bool:
        new = {**doc, "_v": 1}

        def insert(conn: sqlite3.Connection) -> bool:
            cur = conn.execute(f"INSERT OR IGNORE INTO {self._t} (id, doc) VALUES (?, ?)", (new["_id"], _dump(new)))
            return cur.rowcount == 1

        return bool(await self._w.write(insert))

    async def update(self, doc: Doc, *, expected_version: int) -> bool:
        new = {**doc, "_v": expected_version + 1}

        def replace(conn: sqlite3.Connection) -> bool:
            cur = conn.execute(
                f"UPDATE {self._t} SET doc = ? WHERE id = ? AND json_extract(doc, '$._v') = ?",
                (_dump(new), new["_id"], expected_version),
            )
            return cur.rowcount == 1

        return bool(await self._w.write(replace))

    async def _change(self, id: str, change: Any) -> Any:
        """Read, change and write one document inside one transaction (the file has one writer)."""

        def run(conn: sqlite3.Connection) -> Any:
            current = self._current(conn, id)
            new, result = change(current)
            if new is not None:
                new = {**new, "_id": id, "_v": int((current or {}).get("_v", 0)) + 1}
                conn.execute(
                    f"INSERT INTO {self._t} (id, doc) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET doc = excluded.doc",
                    (id, _dump(new)),
                )
            return result

        return await self._w.write(run)

    async def put(self, doc: Doc) -> None:
        await self._change(doc["_id"], lambda _: (doc, None))

    async def delete(self, id: str) -> bool:
        check_deletable(self)
        return bool(
            await self._w.write(lambda conn: conn.execute(f"DELETE FROM {self._t} WHERE id = ?", (id,)).rowcount == 1)
        )

    def _select(self, where: Mapping[str, Any] | None, sort: Sort, limit: int, skip: int) -> tuple[str, list[Any]]:
        sql_where, params = _compile(where)
        order = ", ".join(f"{_column(f)} {'DESC' if d < 0 else 'ASC'}" for f, d in sort)
        sql = f"SELECT doc FROM {self._t} WHERE {sql_where}"
        if order:
            sql += f" ORDER BY {order}"
        if limit or skip:
            sql += " LIMIT ? OFFSET ?"
            params += [limit or -1, skip]
        return sql, params

    async def find(
        self, where: Mapping[str, Any] | None = None, *, sort: Sort = (), limit: int = 0, skip: int = 0
    ) -> list[Doc]:
        return [_load(r[0]) for r in await self._read(*self._select(where, sort, limit, skip))]

    async def plan(self, where: Mapping[str, Any] | None = None, *, sort: Sort = (), limit: int = 0) -> str:
        """SQLite's query plan for a find: shows whether an index answers it."""
        sql, params = self._select(where, sort, limit, 0)
        return " ".join(str(r[3]) for r in await self._read(f"EXPLAIN QUERY PLAN {sql}", params))

    async def count(self, where: Mapping[str, Any] | None = None) -> int:
        sql_where, params = _compile(where)
        return int((await self._read(f"SELECT COUNT(*) FROM {self._t} WHERE {sql_where}", params))[0][0])

    async def count_by(self, field: str, where: Mapping[str, Any] | None = None) -> dict[Any, int]:
        sql_where, params = _compile(where)
        column = _column(field)
        rows = await self._read(f"SELECT {column}, COUNT(*) FROM {self._t} WHERE {sql_where} GROUP BY {column}", params)
        return {value: int(n) for value, n in rows}

    async def increment(self, id: str, field: str, by: int = 1) -> int:
        def bump(current: Doc | None) -> tuple[Doc, int]:
            value = int((current or {}).get(field, 0)) + by
            return {**(current or {}), field: value}, value

        return int(await self._change(id, bump))

    async def pull(self, id: str, field: str, key: str, values: Sequence[Any]) -> None:
        drop = set(values)

        def remove(current: Doc | None) -> tuple[Doc | None, None]:
            if current is None:
                return None, None
            return {**current, field: [x for x in current.get(field, []) if x.get(key) not in drop]}, None

        await self._change(id, remove)

    async def ensure_index(self, *fields: str) -> None:
        if fields == ("_id",):
            return  # the primary key
        # ``_id`` is the key column (named ``pk`` here: an index of the same fields made before read
        # it from the JSON, which queries on ``_id`` no longer match)
        name = f"ix_{self._t.strip(chr(34))}_{'_'.join('pk' if f == '_id' else f.replace('.', '_') for f in fields)}"
        exprs = ", ".join(_column(f) for f in fields)
        await self._w.write(lambda conn: conn.execute(f'CREATE INDEX IF NOT EXISTS "{name}" ON {self._t} ({exprs})'))


def _plain(value: Any) -> Any:
    """What ``json`` also writes that msgspec leaves to a hook: subclasses of str, int, float, dict and list
    (an e-mail header is a str)."""
    kinds: tuple[type[Any], ...] = (str, int, float, dict, list)
    for kind in kinds:
        if isinstance(value, kind):
            return kind(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


_encoder = msgspec.json.Encoder(enc_hook=_plain)
_decoder = msgspec.json.Decoder()


def _dump(doc: Doc) -> str:
    """A document as the compact JSON ``json.dumps(doc, ensure_ascii=False, separators=(",", ":"))``
    writes, made by msgspec's encoder in a tenth of the time (every write of the embedded store
    encodes its whole document; it was a tenth of ``minwon run``'s CPU under load)."""
    return _encoder.encode(doc).decode()


def _load(text: str) -> Doc:
    return _decoder.decode(text)


class SqliteStore:
    """One service's database as one SQLite file (WAL, synchronous=FULL: durable on commit)."""

    def __init__(self, path: str | Path, *, scan_share: float = SHARE) -> None:
        self._w = SqliteWriter(connect(path), Path(str(path)).stem, path)
        self.scans = ScanBudget(Path(str(path)).stem, scan_share)
        self._collections: dict[str, SqliteCollection] = {}

    def collection(self, name: str, *, deletes: bool = False) -> SqliteCollection:
        if name not in self._collections:
            self._collections[name] = SqliteCollection(self, name, deletes=deletes)
        found = self._collections[name]
        found.deletes = found.deletes or deletes
        return found

    async def ping(self) -> bool:
        try:
            await self._w.call(self._w.conn.execute, "SELECT 1")
        except sqlite3.Error:
            return False
        return True

    async def close(self) -> None:
        self._w.close()

    async def drop(self) -> None:
        def drop_all() -> None:
            for name in [r[0] for r in self._w.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]:
                self._w.conn.execute(f'DROP TABLE IF EXISTS "{name}"')

        await self._w.call(drop_all)
        self._collections.clear()

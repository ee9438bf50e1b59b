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
equality on (dotted) fields and ``$lt $lte $gt $gte $ne $in $nin $exists``.
Values are JSON: datetimes are stored as UTC ISO-8601 strings (see
:func:`iso`), which sort correctly as text on both backends.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

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
    async def increment(self, id: str, field: str, by: int = 1) -> int: ...
    async def pull(self, id: str, field: str, key: str, values: Sequence[Any]) -> None: ...
    async def ensure_index(self, *fields: str) -> None: ...


class DocumentStore(Protocol):
    def collection(self, name: str) -> Collection: ...
    async def ping(self) -> bool: ...
    async def close(self) -> None: ...
    async def drop(self) -> None: ...


# --------------------------------------------------------------------------
# MongoDB (any MongoDB-wire server: MongoDB, FerretDB)
# --------------------------------------------------------------------------


STUBS_KEPT = 256


class MongoCollection:
    """Compare-and-set by inserting versions.

    Not every MongoDB-wire server makes a conditional update atomic (FerretDB
    1.x applies ``replace_one({"_id": x, "_v": n}, ...)`` as a read followed by
    a write; measured in ``tests/contract``), but every one rejects a second
    insert of the same ``_id``. So each write of a document inserts its next
    version as ``{_id: "<id>#<v>", _agg: <id>, _v: <v>, ...}``: the insert *is*
    the compare-and-set. Older versions then shrink to small stale stubs (the
    last ``STUBS_KEPT`` and version 1 are kept, so a slow writer or a second
    :meth:`create` still collides); reads take the newest version and queries
    skip stale ones.
    """

    def __init__(self, coll: Any) -> None:
        self._c = coll
        self._indexed = False

    @staticmethod
    def _key(id: str, version: int) -> str:
        return f"{id}#{version}"

    @staticmethod
    def _out(raw: Doc | None) -> Doc | None:
        if raw is None:
            return None
        doc = {k: v for k, v in raw.items() if k not in ("_id", "_agg", "_stale")}
        return {"_id": raw["_agg"], **doc}

    async def _index(self) -> None:
        if not self._indexed:
            await self._c.create_index([("_agg", 1), ("_v", -1)])
            self._indexed = True

    async def _latest(self, id: str) -> Doc | None:
        await self._index()
        return await self._c.find_one({"_agg": id}, sort=[("_v", -1)])

    async def _insert(self, doc: Doc, version: int) -> bool:
        from pymongo.errors import DuplicateKeyError

        id = doc["_id"]
        body = {k: v for k, v in doc.items() if k not in ("_id", "_v")}
        try:
            await self._c.insert_one({"_id": self._key(id, version), "_agg": id, "_v": version, **body})
        except DuplicateKeyError:
            return False
        if version > 1:
            # Older versions shrink to stubs rather than vanish: a writer still holding an
            # old version must find its next version taken. Stubs far behind are pruned;
            # version 1 stays, so create() keeps failing for an existing id.
            await self._c.replace_one({"_id": self._key(id, version - 1)},
                                      {"_agg": id, "_v": version - 1, "_stale": True})
            await self._c.update_many({"_agg": id, "_v": {"$lt": version - 1}, "_stale": {"$ne": True}},
                                      {"$set": {"_stale": True}})
            if version > STUBS_KEPT + 1:
                await self._c.delete_many({"_agg": id, "_v": {"$gt": 1, "$lt": version - STUBS_KEPT}})
        return True

    async def get(self, id: str) -> Doc | None:
        return self._out(await self._latest(id))

    async def create(self, doc: Doc) -> bool:
        await self._index()
        return await self._insert(doc, 1)

    async def update(self, doc: Doc, *, expected_version: int) -> bool:
        return await self._insert(doc, expected_version + 1)

    async def put(self, doc: Doc) -> None:
        while True:
            latest = await self._latest(doc["_id"])
            if await self._insert(doc, latest["_v"] + 1 if latest else 1):
                return

    async def delete(self, id: str) -> bool:
        result = await self._c.delete_many({"_agg": id})
        return result.deleted_count > 0

    def _where(self, where: Mapping[str, Any] | None) -> dict[str, Any]:
        query = {("_agg" if k == "_id" else k): v for k, v in (where or {}).items()}
        query["_stale"] = {"$ne": True}
        return query

    async def find(
        self, where: Mapping[str, Any] | None = None, *, sort: Sort = (), limit: int = 0, skip: int = 0
    ) -> list[Doc]:
        await self._index()
        cursor = self._c.find(self._where(where))
        if sort:
            cursor = cursor.sort([("_agg" if f == "_id" else f, d) for f, d in sort])
        if skip:
            cursor = cursor.skip(skip)
        if limit:
            cursor = cursor.limit(limit)
        newest: dict[str, Doc] = {}
        order: list[str] = []
        for raw in await cursor.to_list():  # a write in flight may briefly show two versions
            agg = raw["_agg"]
            if agg not in newest:
                order.append(agg)
            if agg not in newest or raw["_v"] > newest[agg]["_v"]:
                newest[agg] = raw
        return [self._out(newest[a]) for a in order]  # type: ignore[misc]

    async def count(self, where: Mapping[str, Any] | None = None) -> int:
        return await self._c.count_documents(self._where(where))

    async def increment(self, id: str, field: str, by: int = 1) -> int:
        while True:
            latest = await self._latest(id)
            value = int((latest or {}).get(field, 0)) + by
            current = self._out(latest) or {"_id": id}
            if await self._insert({**current, field: value}, latest["_v"] + 1 if latest else 1):
                return value

    async def pull(self, id: str, field: str, key: str, values: Sequence[Any]) -> None:
        drop = set(values)
        while True:
            latest = await self._latest(id)
            if latest is None:
                return
            current = self._out(latest)
            assert current is not None
            kept = [x for x in current.get(field, []) if x.get(key) not in drop]
            if await self._insert({**current, field: kept}, latest["_v"] + 1):
                return

    async def ensure_index(self, *fields: str) -> None:
        await self._c.create_index([("_agg" if f == "_id" else f, 1) for f in fields])


class MongoStore:
    def __init__(self, uri: str, database: str) -> None:
        from pymongo import AsyncMongoClient

        self._client = AsyncMongoClient(uri, tz_aware=True, serverSelectionTimeoutMS=5000)
        self._db = self._client[database]

    def collection(self, name: str) -> MongoCollection:
        return MongoCollection(self._db[name])

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
        col = f"json_extract(doc, '{_path(field)}')"
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
    def __init__(self, store: SqliteStore, name: str) -> None:
        if not name.replace("_", "").isalnum():
            raise ValueError(f"bad collection name {name!r}")
        self._store = store
        self._t = f'"c_{name}"'
        store._exec(f"CREATE TABLE IF NOT EXISTS {self._t} (id TEXT PRIMARY KEY, doc TEXT NOT NULL)")

    def _run(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        return self._store._exec(sql, params)

    async def get(self, id: str) -> Doc | None:
        row = self._run(f"SELECT doc FROM {self._t} WHERE id = ?", (id,)).fetchone()
        return json.loads(row[0]) if row else None

    async def create(self, doc: Doc) -> bool:
        doc = {**doc, "_v": doc.get("_v", 1)}
        try:
            self._run(f"INSERT INTO {self._t} (id, doc) VALUES (?, ?)", (doc["_id"], _dump(doc)))
        except sqlite3.IntegrityError:
            return False
        return True

    async def update(self, doc: Doc, *, expected_version: int) -> bool:
        new = {**doc, "_v": expected_version + 1}
        cur = self._run(
            f"UPDATE {self._t} SET doc = ? WHERE id = ? AND json_extract(doc, '$._v') = ?",
            (_dump(new), doc["_id"], expected_version),
        )
        return cur.rowcount == 1

    async def put(self, doc: Doc) -> None:
        self._run(
            f"INSERT INTO {self._t} (id, doc) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET doc = excluded.doc",
            (doc["_id"], _dump(doc)),
        )

    async def delete(self, id: str) -> bool:
        return self._run(f"DELETE FROM {self._t} WHERE id = ?", (id,)).rowcount == 1

    async def find(
        self, where: Mapping[str, Any] | None = None, *, sort: Sort = (), limit: int = 0, skip: int = 0
    ) -> list[Doc]:
        sql_where, params = _compile(where)
        order = ", ".join(
            f"json_extract(doc, '{_path(f)}') {'DESC' if d < 0 else 'ASC'}" for f, d in sort
        )
        sql = f"SELECT doc FROM {self._t} WHERE {sql_where}"
        if order:
            sql += f" ORDER BY {order}"
        if limit or skip:
            sql += " LIMIT ? OFFSET ?"
            params += [limit or -1, skip]
        return [json.loads(r[0]) for r in self._run(sql, params).fetchall()]

    async def count(self, where: Mapping[str, Any] | None = None) -> int:
        sql_where, params = _compile(where)
        return self._run(f"SELECT COUNT(*) FROM {self._t} WHERE {sql_where}", params).fetchone()[0]

    async def increment(self, id: str, field: str, by: int = 1) -> int:
        with self._store._lock:
            conn = self._store._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                row = conn.execute(f"SELECT doc FROM {self._t} WHERE id = ?", (id,)).fetchone()
                doc = json.loads(row[0]) if row else {"_id": id}
                doc[field] = int(doc.get(field, 0)) + by
                conn.execute(
                    f"INSERT INTO {self._t} (id, doc) VALUES (?, ?) "
                    "ON CONFLICT(id) DO UPDATE SET doc = excluded.doc",
                    (id, _dump(doc)),
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return doc[field]

    async def pull(self, id: str, field: str, key: str, values: Sequence[Any]) -> None:
        with self._store._lock:
            conn = self._store._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                row = conn.execute(f"SELECT doc FROM {self._t} WHERE id = ?", (id,)).fetchone()
                if row:
                    doc = json.loads(row[0])
                    drop = set(values)
                    doc[field] = [x for x in doc.get(field, []) if x.get(key) not in drop]
                    doc["_v"] = int(doc.get("_v", 0)) + 1
                    conn.execute(f"UPDATE {self._t} SET doc = ? WHERE id = ?", (_dump(doc), id))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    async def ensure_index(self, *fields: str) -> None:
        name = f"ix_{self._t.strip(chr(34))}_{'_'.join(f.replace('.', '_') for f in fields)}"
        exprs = ", ".join(f"json_extract(doc, '{_path(f)}')" for f in fields)
        self._run(f'CREATE INDEX IF NOT EXISTS "{name}" ON {self._t} ({exprs})')


def _dump(doc: Doc) -> str:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))


class SqliteStore:
    """One service's database as one SQLite file (WAL, synchronous=FULL: durable on commit)."""

    def __init__(self, path: str | Path) -> None:
        path = Path(path)
        if str(path) != ":memory:":
            path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.execute("PRAGMA busy_timeout=5000")
        self._collections: dict[str, SqliteCollection] = {}

    def _exec(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        with self._lock:
            return self._conn.execute(sql, params)

    def collection(self, name: str) -> SqliteCollection:
        if name not in self._collections:
            self._collections[name] = SqliteCollection(self, name)
        return self._collections[name]

    async def ping(self) -> bool:
        try:
            self._exec("SELECT 1")
        except sqlite3.Error:
            return False
        return True

    async def close(self) -> None:
        with self._lock:
            self._conn.close()

    async def drop(self) -> None:
        for name in [r[0] for r in self._exec("SELECT name FROM sqlite_master WHERE type='table'")]:
            self._exec(f'DROP TABLE IF EXISTS "{name}"')
        self._collections.clear()
        await asyncio.sleep(0)

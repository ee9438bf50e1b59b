"""The document-store port every service persists through, and its two adapters.

A service owns one database (``minwon_<service>``) of collections of JSON
documents keyed by ``_id``. The port is deliberately small — the operations
the services need, each atomic on one document — so that the MongoDB adapter
(PyMongo's ``AsyncMongoClient``) and the embedded SQLite adapter behave the
same; ``tests/contract/test_docstore.py`` runs one suite against both.

Documents carry a ``_v`` version; :meth:`Collection.update` is a
compare-and-set on it. Queries use a subset of the MongoDB filter language:
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
    async def ensure_index(self, *fields: str, unique: bool = False) -> None: ...


class DocumentStore(Protocol):
    def collection(self, name: str) -> Collection: ...
    async def ping(self) -> bool: ...
    async def close(self) -> None: ...
    async def drop(self) -> None: ...


# --------------------------------------------------------------------------
# MongoDB (any MongoDB-wire server: MongoDB, FerretDB)
# --------------------------------------------------------------------------


class MongoCollection:
    def __init__(self, coll: Any) -> None:
        self._c = coll

    async def get(self, id: str) -> Doc | None:
        return await self._c.find_one({"_id": id})

    async def create(self, doc: Doc) -> bool:
        from pymongo.errors import DuplicateKeyError

        try:
            await self._c.insert_one({**doc, "_v": doc.get("_v", 1)})
        except DuplicateKeyError:
            return False
        return True

    async def update(self, doc: Doc, *, expected_version: int) -> bool:
        new = {**doc, "_v": expected_version + 1}
        result = await self._c.replace_one({"_id": doc["_id"], "_v": expected_version}, new)
        return result.matched_count == 1

    async def put(self, doc: Doc) -> None:
        await self._c.replace_one({"_id": doc["_id"]}, doc, upsert=True)

    async def delete(self, id: str) -> bool:
        result = await self._c.delete_one({"_id": id})
        return result.deleted_count == 1

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
        return await cursor.to_list()

    async def count(self, where: Mapping[str, Any] | None = None) -> int:
        return await self._c.count_documents(dict(where or {}))

    async def increment(self, id: str, field: str, by: int = 1) -> int:
        from pymongo import ReturnDocument

        doc = await self._c.find_one_and_update(
            {"_id": id}, {"$inc": {field: by}}, upsert=True, return_document=ReturnDocument.AFTER
        )
        return int(doc[field])

    async def pull(self, id: str, field: str, key: str, values: Sequence[Any]) -> None:
        await self._c.update_one({"_id": id}, {"$pull": {field: {key: {"$in": list(values)}}}})

    async def ensure_index(self, *fields: str, unique: bool = False) -> None:
        await self._c.create_index([(f, 1) for f in fields], unique=unique)


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
    clauses: list[str] = []
    params: list[Any] = []
    for field, cond in (where or {}).items():
        col = "json_extract(doc, ?)"
        if isinstance(cond, Mapping) and cond and all(k.startswith("$") for k in cond):
            for op, value in cond.items():
                if op in _OPS:
                    clauses.append(f"{col} {_OPS[op]} ?")
                    params += [_path(field), _sql_value(value)]
                elif op == "$ne":
                    clauses.append(f"({col} IS NULL OR {col} != ?)")
                    params += [_path(field), _path(field), _sql_value(value)]
                elif op in ("$in", "$nin"):
                    values = list(value)
                    marks = ",".join("?" * len(values)) or "NULL"
                    if op == "$in":
                        clauses.append(f"{col} IN ({marks})")
                        params += [_path(field), *map(_sql_value, values)]
                    else:
                        clauses.append(f"({col} IS NULL OR {col} NOT IN ({marks}))")
                        params += [_path(field), _path(field), *map(_sql_value, values)]
                elif op == "$exists":
                    clauses.append(f"json_type(doc, ?) IS {'NOT ' if value else ''}NULL")
                    params.append(_path(field))
                else:
                    raise ValueError(f"unsupported operator {op}")
        elif cond is None:
            clauses.append(f"{col} IS NULL")
            params.append(_path(field))
        else:
            clauses.append(f"{col} = ?")
            params += [_path(field), _sql_value(cond)]
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
                    conn.execute(f"UPDATE {self._t} SET doc = ? WHERE id = ?", (_dump(doc), id))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    async def ensure_index(self, *fields: str, unique: bool = False) -> None:
        name = f"ix_{self._t.strip(chr(34))}_{'_'.join(f.replace('.', '_') for f in fields)}"
        exprs = ", ".join(f"json_extract(doc, '{_path(f)}')" for f in fields)
        self._run(
            f'CREATE {"UNIQUE " if unique else ""}INDEX IF NOT EXISTS "{name}" ON {self._t} ({exprs})'
        )


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

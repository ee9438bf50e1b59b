"""The deadline service's persistence, in its own database (``minwon_deadline``):

- ``clocks``: one document per receipt number — the clock's inputs, what routing told
  us, what was published, and derived ``status``, ``due_at`` and ``next_fire_at`` for
  the indexes (aggregates with inbox and outbox: every deadline event is written with
  the state that caused it).
- ``holidays``: dates an administrator added (임시공휴일), each with the progress of
  the recomputation it started; its ``holiday_added`` event goes out with it.

Every query pages (``limit``): the scanner never holds more than one page of clocks.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from minwon.docstore import Collection, Doc, DocumentStore, SqliteCollection, _compile, _path, iso
from minwon.outbox import Aggregates, Relay, public
from services.deadline.tracking import LIVE, OPEN

INDEXES: tuple[tuple[str, ...], ...] = (
    ("next_fire_at",),
    ("_id",),
    ("status", "due_at"),
    ("status", "_id"),
    ("department", "status"),
)


@dataclass
class DeadlineStore:
    db: DocumentStore
    relay: Relay

    def __post_init__(self) -> None:
        self.clocks = Aggregates(self.db.collection("clocks"), self.relay)
        self.holidays = Aggregates(self.db.collection("holidays"), self.relay)

    async def setup(self) -> None:
        for fields in INDEXES:
            await self.clocks.coll.ensure_index(*fields)

    # ------------------------------------------------------------- timers

    async def due(self, *, now: datetime, limit: int) -> list[Doc]:
        """Clocks with a timer at or before ``now``, earliest first (one page)."""
        return await _find(self.clocks.coll, {"next_fire_at": {"$lte": iso(now)}},
                           sort=[("next_fire_at", 1)], limit=limit)

    async def open_page(self, *, after: str | None, limit: int) -> list[Doc]:
        """Running (not paused) clocks by receipt number after ``after``: one page.

        Paged on ``(status, _id)`` so that walking every open clock costs one pass over
        the index, whatever their due times; the caller filters the page."""
        where: dict[str, Any] = {"status": OPEN}
        if after is not None:
            where["_id"] = {"$gt": after}
        return await _find(self.clocks.coll, where, sort=[("_id", 1)], limit=limit)

    # ------------------------------------------------------------- reads

    async def list(self, *, overdue_at: datetime | None, department: str | None, status: str | None,
                   after: str | None, limit: int) -> list[Doc]:
        where: dict[str, Any] = {}
        if status is not None:
            where["status"] = status
        if department is not None:
            where["department"] = department
        if overdue_at is not None:
            where["status"] = OPEN
            where["due_at"] = {"$lt": iso(overdue_at)}
        if after is not None:
            where["_id"] = {"$gt": after}
        return [public(d) or {} for d in await _find(self.clocks.coll, where, sort=[("_id", 1)], limit=limit)]

    async def count_live(self) -> int:
        return await _count(self.clocks.coll, {"status": {"$in": list(LIVE)}})

    async def count_overdue(self, *, now: datetime) -> int:
        return await _count(self.clocks.coll, {"status": OPEN, "due_at": {"$lt": iso(now)}})

    async def page(self, *, after: str | None, limit: int) -> list[Doc]:
        """Every clock document by receipt number (replay comparisons)."""
        where = {"_id": {"$gt": after}} if after is not None else {}
        return [public(d) or {} for d in await _find(self.clocks.coll, where, sort=[("_id", 1)], limit=limit)]

    async def list_holidays(self) -> list[Doc]:
        return [public(d) or {} for d in await self.holidays.coll.find(sort=[("_id", 1)])]

    async def pending_holidays(self) -> list[Doc]:
        return [public(d) or {} for d in await self.holidays.coll.find({"recompute.status": "pending"},
                                                                       sort=[("_id", 1)])]


# --------------------------------------------------------------------------
# Index-friendly queries on the embedded store.
#
# The SQLite adapter binds each JSON path as a parameter (``json_extract(doc, ?)``),
# and SQLite matches an expression index only against the literal expression it was
# created with, so the port's filters never use the indexes ``ensure_index`` made: the
# timer query walked the whole ``next_fire_at`` index on every pass. Until
# ``minwon.docstore._compile`` writes the (already validated) path literally, the
# deadline store runs its hot queries with the paths inlined. MongoDB needs nothing.
# --------------------------------------------------------------------------

_SAFE_PATH = re.compile(r'\$(\."[A-Za-z0-9_]+"|\[\d+\])+')
_PATH_CALL = re.compile(r"(json_extract|json_type)\(doc, $")


def _inline(sql: str, params: Sequence[Any]) -> tuple[str, list[Any]]:
    """Write the JSON-path parameters of ``sql`` as literals (each one checked against the
    only shape ``minwon.docstore._path`` produces); other parameters stay bound."""
    pieces = sql.split("?")
    out, kept = [pieces[0]], []
    for piece, param in zip(pieces[1:], params, strict=True):
        if _PATH_CALL.search(out[-1]) and isinstance(param, str) and _SAFE_PATH.fullmatch(param):
            out.append(f"'{param}'")
        else:
            out.append("?")
            kept.append(param)
        out.append(piece)
    return "".join(out), kept


def select_sql(table: str, where: Mapping[str, Any], *, sort: Sequence[tuple[str, int]] = (),
               limit: int = 0) -> tuple[str, list[Any]]:
    """The SQL the embedded store runs for a find, with the JSON paths inlined."""
    sql_where, params = _inline(*_compile(where))
    order = ", ".join(f"json_extract(doc, '{_path(f)}') {'DESC' if d < 0 else 'ASC'}" for f, d in sort)
    sql = f"SELECT doc FROM {table} WHERE {sql_where}"
    if order:
        sql += f" ORDER BY {order}"
    if limit:
        sql += " LIMIT ?"
        params.append(limit)
    return sql, params


async def _find(coll: Collection, where: Mapping[str, Any], *, sort: Sequence[tuple[str, int]],
                limit: int) -> list[Doc]:
    if not isinstance(coll, SqliteCollection):
        return await coll.find(where, sort=sort, limit=limit)
    sql, params = select_sql(coll._t, where, sort=sort, limit=limit)  # noqa: SLF001 - see the note above
    return [json.loads(row[0]) for row in coll._run(sql, params).fetchall()]  # noqa: SLF001


async def _count(coll: Collection, where: Mapping[str, Any]) -> int:
    if not isinstance(coll, SqliteCollection):
        return await coll.count(where)
    sql_where, params = _inline(*_compile(where))
    return coll._run(f"SELECT COUNT(*) FROM {coll._t} WHERE {sql_where}", params).fetchone()[0]  # noqa: SLF001

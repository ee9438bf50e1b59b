"""The statistics read model's persistence: the ``statistics`` collection of deadline's database.

One document per cell ``month|department|category|channel`` with its counters and days histogram
(rules: :mod:`services.deadline.statistics`). A read costs one indexed query over the cells of the
months asked for — as many documents as there are cells (months x departments x categories x
channels that occurred), never one per complaint.

Each change is written with the inbox of :class:`~minwon.outbox.Aggregates`, keyed by the
complaint and the sequence number of what it counts as: a redelivered change is added once.

A busy cell (this month, a big department, the web channel) would have every complaint's change
compare-and-set one document: on a server whose conditional updates are retried (FerretDB) they
queue on it. So each cell is kept in :data:`CELL_SHARDS` documents ``<cell>#<n>``, a complaint always
writing the same one (by its receipt number); reads add them up like any cells of a group.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from minwon.docstore import Doc
from minwon.events import derive_id
from minwon.outbox import Aggregates, public
from services.deadline import statistics as s

log = logging.getLogger("minwon.deadline")

CELL_SHARDS = 8
"""Documents each cell is kept in (see the module's docstring)."""


@dataclass
class StatisticsStore:
    cells: Aggregates

    async def setup(self) -> None:
        await self.cells.coll.ensure_index("month")
        await self.cells.coll.ensure_index("department", "month")

    async def count(self, receipt_no: str, before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> None:
        """Move a complaint's contribution from ``before`` to ``after`` (both as stored on its clock)."""
        changes = s.deltas(before, after)
        if not changes:
            return
        seq = (after or before or {}).get("seq", 0)
        cause = derive_id(receipt_no, "statistics", str(seq))
        home = s.cell_id(after["cell"]) if after else None
        name = (after or {}).get("department_name")
        shard = int(hashlib.sha256(receipt_no.encode()).hexdigest()[:8], 16) % CELL_SHARDS
        for cid, change in changes.items():

            def decide(doc: Doc | None, cid: str = cid, change: Mapping[str, int] = change) -> Any:
                return s.add(doc, cid, change, name if cid == home else None), []

            await self.cells.apply(f"{cid}#{shard}", decide, cause=cause)

    async def replace_all(self, totals: Mapping[str, Mapping[str, Any]]) -> int:
        """Set every cell to ``totals`` (cell id -> the :func:`~services.deadline.statistics.add` of its
        counters) and empty the documents not in it (a cell's shards among them): the recount. Returns the
        cells written. Nothing is deleted, so a document's versions only grow and a kept copy of it stays
        a safe base for a compare-and-set (reads leave empty cells out)."""
        stale = [d for d in await self.cells.coll.find({}, sort=[("_id", 1)]) if d["_id"] not in totals]
        for doc in stale:
            base, sep, n = doc["_id"].rpartition("#")
            empty = s.add(None, base if sep and n.isdigit() else doc["_id"], {}, doc.get("department_name"))
            await self.cells.apply(doc["_id"], _setting(empty))
        for cid, cell in totals.items():
            await self.cells.apply(cid, _setting(cell))
        return len(totals)

    async def list(self, *, first: str, last: str, department: str | None) -> list[Doc]:
        """The cells of months ``first..last`` (of one department): one page per cell, no complaint read."""
        where: dict[str, Any] = {"month": {"$gte": first, "$lte": last}}
        if department is not None:
            where["department"] = department
        return [public(d) or {} for d in await self.cells.coll.find(where, sort=[("_id", 1)])]


def _setting(cell: Mapping[str, Any]) -> Any:
    """A decision that sets a cell document to ``cell`` whatever it held."""

    def decide(_: Doc | None) -> tuple[Doc, list[Any]]:
        return dict(cell), []

    return decide

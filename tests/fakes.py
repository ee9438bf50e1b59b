"""In-memory fakes of the document-store and bus ports, for handler tests without I/O."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from minwon.docstore import check_deletable
from minwon.events import Event
from minwon.scans import ScanBudget

_MISSING = object()


def _get(doc: Mapping[str, Any], dotted: str) -> Any:
    cur: Any = doc
    for part in dotted.split("."):
        if isinstance(cur, Mapping) and part in cur:
            cur = cur[part]
        elif isinstance(cur, list) and part.isdigit() and int(part) < len(cur):
            cur = cur[int(part)]
        else:
            return _MISSING
    return cur


def _matches(doc: Mapping[str, Any], where: Mapping[str, Any] | None) -> bool:
    for name, cond in (where or {}).items():
        value = _get(doc, name)
        if isinstance(cond, Mapping) and cond and all(k.startswith("$") for k in cond):
            for op, arg in cond.items():
                present = value is not _MISSING and value is not None
                if op == "$exists":
                    if (value is not _MISSING) != bool(arg):
                        return False
                elif op == "$ne":
                    if present and value == arg:
                        return False
                elif op == "$in":
                    if not present or value not in arg:
                        return False
                elif op == "$nin":
                    if present and value in arg:
                        return False
                elif op in ("$lt", "$lte", "$gt", "$gte"):
                    if not present:
                        return False
                    ok = {"$lt": value < arg, "$lte": value <= arg, "$gt": value > arg, "$gte": value >= arg}[op]
                    if not ok:
                        return False
                else:
                    raise ValueError(op)
        elif cond is None:
            if value is not _MISSING and value is not None:
                return False
        elif value is _MISSING or value != cond:
            return False
    return True


class MemoryCollection:
    def __init__(self, name: str = "memory", scans: ScanBudget | None = None, *, deletes: bool = False) -> None:
        self.name = name
        self.deletes = deletes
        self.docs: dict[str, dict[str, Any]] = {}
        self.scans = scans or ScanBudget("memory")

    async def get(self, id: str) -> dict[str, Any] | None:
        doc = self.docs.get(id)
        return copy.deepcopy(doc) if doc is not None else None

    async def create(self, doc: dict[str, Any]) -> bool:
        if doc["_id"] in self.docs:
            return False
        self.docs[doc["_id"]] = copy.deepcopy({**doc, "_v": doc.get("_v", 1)})
        return True

    async def update(self, doc: dict[str, Any], *, expected_version: int) -> bool:
        cur = self.docs.get(doc["_id"])
        if cur is None or cur.get("_v") != expected_version:
            return False
        self.docs[doc["_id"]] = copy.deepcopy({**doc, "_v": expected_version + 1})
        return True

    async def put(self, doc: dict[str, Any]) -> None:
        self.docs[doc["_id"]] = copy.deepcopy(doc)

    async def delete(self, id: str) -> bool:
        check_deletable(self)  # as the real adapters: only where declared
        return self.docs.pop(id, None) is not None

    async def find(
        self,
        where: Mapping[str, Any] | None = None,
        *,
        sort: Sequence[tuple[str, int]] = (),
        limit: int = 0,
        skip: int = 0,
    ) -> list[dict[str, Any]]:
        found = [copy.deepcopy(d) for d in self.docs.values() if _matches(d, where)]
        for name, direction in reversed(list(sort)):
            found.sort(key=lambda d: (_get(d, name) is _MISSING, str(_get(d, name))), reverse=direction < 0)
        found = found[skip:]
        return found[:limit] if limit else found

    async def count(self, where: Mapping[str, Any] | None = None) -> int:
        return len(await self.find(where))

    async def count_by(self, field: str, where: Mapping[str, Any] | None = None) -> dict[Any, int]:
        counts: dict[Any, int] = {}
        for doc in await self.find(where):
            value = _get(doc, field)
            key = None if value is _MISSING else value
            counts[key] = counts.get(key, 0) + 1
        return counts

    async def increment(self, id: str, field: str, by: int = 1) -> int:
        doc = self.docs.setdefault(id, {"_id": id})
        doc[field] = int(doc.get(field, 0)) + by
        return doc[field]

    async def pull(self, id: str, field: str, key: str, values: Sequence[Any]) -> None:
        doc = self.docs.get(id)
        if doc is not None:
            doc[field] = [x for x in doc.get(field, []) if x.get(key) not in set(values)]

    async def ensure_index(self, *fields: str, unique: bool = False) -> None:
        return None


class MemoryStore:
    def __init__(self) -> None:
        self.collections: dict[str, MemoryCollection] = {}
        self.scans = ScanBudget("memory")

    def collection(self, name: str, *, deletes: bool = False) -> MemoryCollection:
        found = self.collections.setdefault(name, MemoryCollection(name, self.scans, deletes=deletes))
        found.deletes = found.deletes or deletes
        return found

    async def ping(self) -> bool:
        return True

    async def close(self) -> None:
        return None

    async def drop(self) -> None:
        self.collections.clear()


@dataclass
class MemoryBus:
    published: list[tuple[str, Event]] = field(default_factory=list)

    def subscribe(self, group: str, topics: Sequence[str], handler: Any) -> None:
        return None

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def publish(self, topic: str, event: Event) -> None:
        self.published.append((topic, event))

    async def ping(self) -> bool:
        return True

    async def read(self, topics: Sequence[str], *, since: datetime | None = None) -> AsyncIterator[tuple[str, Event]]:
        for topic, event in list(self.published):
            if topic in topics:
                yield topic, event

    def of_type(self, type: str, subject: str | None = None) -> list[Event]:
        return [e for _, e in self.published if e.type == type and (subject is None or e.subject == subject)]


@dataclass
class FakeClock:
    now: datetime = field(default_factory=lambda: datetime(2026, 11, 20, 1, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)

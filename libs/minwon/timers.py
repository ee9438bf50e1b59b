"""Timers kept as a wheel of minute buckets, read by ``_id``.

A service that acts when a document's time comes (a clock's next warning, a
notice held for quiet hours, a breach's settle time) used to ask its store for
``{time: {$lte: now}}`` on every pass. On a MongoDB-wire server without a
usable index for that filter (FerretDB 1.x decodes every document) the cost of
a pass grows with the collection. Here each time written is also filed under
its minute: the bucket ``<minute>/<shard>`` lists the ids due in that minute,
so a pass reads the buckets from a persisted cursor up to now — a handful of
lookups by ``_id`` — whatever the size of the collection.

The wheel only proposes candidates: the caller reads each document and acts
only if it is really due, so a stale entry (a time that moved) is harmless. A
time is filed after the write that set it; a crash in between loses the entry,
so callers keep their old query as a slow safety net (``rescan_every``).

A candidate read and found not due is not read again for ``recheck`` seconds of real time (not
the service's clock, which a test or a replay may hold still): the wheel
remembers when the document said it comes due (or that it never will in its state). A write
through this instance's :meth:`TimeIndex.file_changes` counts as such a read, made at that moment:
what it wrote is what a read would find (another instance's or a command's write is seen within
``recheck``). Without it every pass re-read every id of the open minute (a notice already sent, a
clock whose warning is days away), which at a city's rate was most of the reads of the notification
and deadline services; and a document written while its id sat in the open minute was read again
after each write (a complaint's clock: its receipt, its routing, its assignment).

A bucket holds at most :data:`PAGE_IDS` ids; more go on pages ``<minute>/<shard>/<n>``, each begun once
the one before is full (a reader reads the next page only after a full one). Times that fall in one
minute pile up there: every complaint filed at night has its first signal at the same minute of the
next working morning, and one growing list would make each filing rewrite all the ids before it (on
FerretDB a read, a decode and a rewrite of the whole document, plus a version marker carrying it).
Filings of one bucket that come together (a consumer's lanes) go in one write: those that start while
a write's page is being read join it, instead of each reading the page and colliding on its version.

The buckets themselves are kept the same way: a bucket read (or written by this instance's
:meth:`TimeIndex.file`) is taken as it was for ``recheck`` seconds, so a pass every second reads
a minute's buckets once when the minute opens and then once per ``recheck``, not on every pass;
what another instance files is seen within ``recheck``, and its own writes at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from minwon.docstore import Collection, Doc, iso

log = logging.getLogger(__name__)
MINUTE = "%Y-%m-%dT%H:%M"
CURSOR = "cursor"
PAGE_IDS = 100
"""Ids a bucket document holds: a filing's cost stays flat however many share its minute."""
TIDIED = 500
"""Pages of passed minutes :meth:`TimeIndex.tidy` deletes at most in one turn (more wait for the next)."""
CATCH_UP = timedelta(minutes=15)
"""The most a pass walks back; after a longer stop (or a clock moved ahead) the wheel starts over
from ``now - CATCH_UP`` and the safety-net query drains what is older, a page a pass."""


def _minute(at: datetime) -> str:
    return at.astimezone(UTC).strftime(MINUTE)


def _parse(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


@dataclass
class TimeIndex:
    """The wheel of one collection's time field(s), in its own collection (``<name>_timers``)."""

    coll: Collection
    fields: tuple[str, ...]
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    """The service's clock: a time already past is filed under its now, which its scanner reads."""
    shards: int = 4
    file_past: bool = True
    """False: a time already come is not filed (its writer acts on it at once, as notification does);
    the safety-net query still finds it if that attempt is lost."""
    rescan_every: float = 300.0
    """Seconds between safety-net queries at most: each waits its turn in the store's scan budget
    (``minwon.scans``), so on a server that scans for it the query runs less often as it grows."""
    _cursor: str | None = None
    _last_rescan: datetime | None = None
    _backlog: bool = False
    _proposed: dict[str, int] = field(default_factory=dict)
    recheck: float = 15.0
    """Seconds a candidate read and found not due is taken at its word (see the module's text)."""
    ticker: Callable[[], float] = time.monotonic
    """Real time for ``recheck``: a service clock held still must not hold a stale reading forever."""
    _settled: dict[str, tuple[datetime | None, float]] = field(default_factory=dict)
    """Candidates read and not due: (when their document said it comes due, ``None`` if not in
    its current state; when it was read). Only the ids of open buckets are kept."""
    _due_on: tuple[str, Mapping[str, Any]] | None = None
    """The time field and filter of :func:`due_ids`' passes, once one ran: a document this instance
    writes is then settled as if read at that moment, instead of being read again by the next pass."""
    _buckets: dict[str, tuple[list[str], float]] = field(default_factory=dict)
    """Buckets as last read or written here: (their ids, when), taken at their word for ``recheck``."""
    _open: dict[str, int] = field(default_factory=dict)
    """Bucket -> the page this instance last filed on (the pages before it are full)."""
    _joining: dict[str, tuple[list[str], asyncio.Future[bool]]] = field(default_factory=dict)
    """Bucket -> the ids of the write being prepared for it, and whether that write filed them: filings
    of one bucket that come while its page is read share one write instead of colliding."""
    hold: Callable[[Mapping[str, Any]], float | None] | None = None
    """Seconds to wait before filing a document in this state (``None``: at once). A time its writer
    usually clears within them (notification's claim on a notice being sent, cleared when it is sent)
    is then filed only if it is still there, which saves a bucket write per notice; a crash meanwhile
    leaves it to the safety-net query, as one between a write and its filing does."""
    _held: dict[str, tuple[asyncio.Task[None], list[Any]]] = field(default_factory=dict)
    """Filings waiting for their hold: (the task, the times it will file)."""
    stopping: bool = False
    """Set by :meth:`file_held` (the service is stopping): later filings are made at once, since the
    consumers still running while a service stops would otherwise hold times no one files."""

    def __post_init__(self) -> None:
        if not self.coll.deletes:  # passed buckets are deleted
            raise ValueError(f"the wheel's collection {self.coll.name!r} must be declared with deletes=True")

    def _key(self, minute: str, id: str) -> str:
        return f"{minute}/{zlib.crc32(id.encode()) % self.shards}"

    @staticmethod
    def _page(bucket: str, page: int) -> str:
        return bucket if page == 0 else f"{bucket}/{page}"

    async def file(self, id: str, at: datetime | str | None) -> None:
        """List ``id`` under the minute of ``at`` (a time already past goes under now's minute)."""
        when = _parse(at)
        if when is None or (not self.file_past and when <= self.clock()):
            return
        bucket = self._key(max(_minute(when), _minute(self.clock())), id)
        joining = self._joining.get(bucket)
        if joining is not None:  # a write of this bucket is reading it: the id goes with that write
            joining[0].append(id)
            if await joining[1]:
                return
            # that write failed: this id is filed on its own (failing as its own write would)
        pending, filed = [id], asyncio.get_running_loop().create_future()
        self._joining[bucket] = (pending, filed)
        try:
            await self._append(bucket, pending)
        finally:
            if self._joining.get(bucket, (None,))[0] is pending:  # (a failed first read)
                del self._joining[bucket]
            filed.set_result(not pending)

    async def _append(self, bucket: str, pending: list[str]) -> None:
        """Add ``pending`` to ``bucket``'s open page, and to the next pages as each fills; what joins
        ``pending`` while the first page is read goes in the same write. Filed ids leave ``pending``."""
        page, conflicts = self._open.get(bucket, 0), 0
        await asyncio.sleep(0)  # the filings started with this one join it (a read may not yield)
        while pending and conflicts < 50:
            key = self._page(bucket, page)
            doc = await self.coll.get(key)
            if self._joining.get(bucket, (None,))[0] is pending:
                del self._joining[bucket]  # read: later filings make a write of their own
            ids = list(doc.get("ids", [])) if doc else []
            pending[:] = [i for i in dict.fromkeys(pending) if i not in ids]
            if len(ids) >= PAGE_IDS or not pending:  # full (a pass of this instance reads on), or done
                self._buckets[key] = (ids, self.ticker())
                page += 1
                continue
            taken = pending[: PAGE_IDS - len(ids)]
            new = {"_id": key, "ids": [*ids, *taken]}
            if await (self.coll.create(new) if doc is None else self.coll.update(new, expected_version=doc["_v"])):
                self._buckets[key] = ([*ids, *taken], self.ticker())
                self._open[bucket] = page
                del pending[: len(taken)]
            else:
                conflicts += 1

    async def file_changes(self, id: str, before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> None:
        """File the watched times of ``after`` that are new, or whose document changed state."""
        if self._due_on is None or not after:
            self._settled.pop(id, None)
        else:  # what this instance just wrote is what a read would find now
            self._settled[id] = (_due_at(after, *self._due_on), self.ticker())
        held = self._held.pop(id, None)
        if held is not None:  # this write supersedes what was held for the last
            held[0].cancel()
        if not after:
            return
        times = [
            value
            for name in self.fields
            if (value := after.get(name))
            and (not before or before.get(name) != value or before.get("status") != after.get("status"))
        ]
        delay = self.hold(after) if self.hold and times and not self.stopping else None
        if delay:
            self._held[id] = (asyncio.create_task(self._file_later(id, times, delay)), times)
            return
        for value in times:
            await self.file(id, value)

    async def _file_later(self, id: str, times: list[Any], delay: float) -> None:
        await asyncio.sleep(delay)
        self._held.pop(id, None)
        try:
            for value in times:
                await self.file(id, value)
        except Exception:  # noqa: BLE001 - left to the safety-net query, like a crash before filing
            log.warning("held time not filed", extra={"id": id}, exc_info=True)

    async def file_held(self) -> int:
        """File at once what waits for its hold (a stopping service: what it held must not wait for the
        safety-net query after a restart); from now on, nothing is held. Returns how many documents were filed."""
        self.stopping = True
        held, self._held = self._held, {}
        for id, (task, times) in held.items():
            task.cancel()
            for value in times:
                await self.file(id, value)
        return len(held)

    async def candidates(self, now: datetime) -> tuple[dict[str, str], str]:
        """Ids filed from the cursor's minute up to now's (each with the minute it was filed under),
        and the minute reached."""
        cursor = await self._load_cursor(now)
        end = _minute(now)
        ids: dict[str, str] = {}
        minute = datetime.strptime(cursor, MINUTE).replace(tzinfo=UTC)
        while _minute(minute) <= end:
            for shard in range(self.shards):
                bucket, page, filed = f"{_minute(minute)}/{shard}", 0, PAGE_IDS
                while filed >= PAGE_IDS:  # a full page: the next one may hold more
                    found = await self._bucket(self._page(bucket, page))
                    for id in found:
                        ids.setdefault(id, _minute(minute))
                    page, filed = page + 1, len(found)
            minute += timedelta(minutes=1)
        return ids, end

    async def _bucket(self, key: str) -> list[str]:
        """A bucket's ids: as known here if read or written within ``recheck``, else as stored."""
        known = self._buckets.get(key)
        if known is not None and self.ticker() - known[1] < self.recheck:
            return known[0]
        doc = await self.coll.get(key)
        ids = list(doc.get("ids", [])) if doc else []
        self._buckets[key] = (ids, self.ticker())
        return ids

    async def advance(self, reached: str) -> None:
        """Move the cursor to ``reached`` (its minute stays open: more may be filed under it) and drop
        the buckets left behind. A candidate whose handling failed keeps its time, so the safety-net
        query finds it again."""
        if self._cursor is not None and reached <= self._cursor:
            return
        old = self._cursor
        self._cursor = reached
        await self.coll.put({"_id": CURSOR, "minute": reached})
        if old is not None:  # (at most two hours of them: a longer gap is left to tidy())
            minute = max(
                datetime.strptime(old, MINUTE).replace(tzinfo=UTC),
                datetime.strptime(reached, MINUTE).replace(tzinfo=UTC) - timedelta(hours=2),
            )
            while _minute(minute) < reached:
                for shard in range(self.shards):
                    bucket, page, full = f"{_minute(minute)}/{shard}", 0, True
                    while full:  # each page, as long as the one before was full (as far as it was seen)
                        key = self._page(bucket, page)
                        full = len(self._buckets.get(key, ([], 0.0))[0]) >= PAGE_IDS
                        await self.coll.delete(key)
                        page += 1
                minute += timedelta(minutes=1)
        for key in [k for k in self._buckets if k < reached]:
            del self._buckets[key]
        for bucket in [b for b in self._open if b < reached]:
            del self._open[bucket]

    async def tidy(self) -> None:
        """Delete the pages of minutes the cursor has passed that :meth:`advance` did not: a crash while
        it deleted them, a gap of over two hours, a page another instance began after the last one seen
        full here. The safety-net query covers their ids. Run with that query, in its turn: it reads the
        wheel's own collection (the cursor and the pages of minutes to come), which is far smaller than
        the documents it indexes."""
        if self._cursor is None:
            return
        # "cursor" sorts after every minute, and a page of the cursor's minute after the minute itself
        passed = await self.coll.find({"_id": {"$lt": self._cursor}}, limit=TIDIED)
        for doc in passed:
            await self.coll.delete(doc["_id"])
        if passed:
            log.info(
                "timer pages of passed minutes deleted", extra={"collection": self.coll.name, "pages": len(passed)}
            )

    async def _load_cursor(self, now: datetime) -> str:
        if self._cursor is None:
            doc = await self.coll.get(CURSOR)
            self._cursor = str(doc["minute"]) if doc else _minute(now)
        floor = _minute(now - CATCH_UP)
        if self._cursor < floor:
            self._cursor = floor
            self._backlog = True
        return self._cursor

    def rescan_soon(self) -> None:
        """Have the next pass run the safety-net query at once, and on every pass while it fills its page:
        for a bulk write (a replay of thousands), which would make every filing rewrite an ever larger
        bucket, its writer files nothing and calls this instead."""
        self._backlog = True

    def rescan_due(self, now: datetime) -> bool:
        """Time for the slow safety-net query: at start, every ``rescan_every`` seconds, and on every
        pass while the last one filled its page (a backlog after downtime drains a page a pass)."""
        return (
            self._backlog
            or self._last_rescan is None
            or abs((now - self._last_rescan).total_seconds()) >= self.rescan_every
        )


async def due_ids(
    index: TimeIndex,
    source: Collection,
    *,
    now: datetime,
    limit: int,
    time_field: str,
    where: Mapping[str, Any],
    scan: Any,
    confirm: bool = True,
) -> list[str]:
    """One pass: the ids of ``source`` whose ``time_field`` has come and which match ``where``
    (equality or ``$in`` only), earliest first. Candidates come from the wheel; ``scan()`` (the
    plain query) runs as a safety net every ``rescan_every`` seconds, in its turn in the store's
    scan budget. ``confirm=False``: a candidate this instance wrote due within ``recheck`` is
    proposed without reading it again, for a caller whose action decides on the document as the
    store holds it (a compare-and-set that does nothing unless something has come due)."""
    found: dict[str, Doc] = {}
    index._due_on = (time_field, where)
    await index._load_cursor(now)
    if index.rescan_due(now):
        # in its turn among the store's scans; recovery (the first at start, a backlog) goes at once
        urgent = index._backlog or index._last_rescan is None
        async with index.coll.scans.turn(f"timers:{index.coll.name}", urgent=urgent) as granted:
            if granted:
                index._last_rescan = now
                scanned = await scan()
                index._backlog = len(scanned) >= limit
                await index.tidy()
                for doc in scanned:
                    found[doc["_id"]] = doc
    ids, reached = await index.candidates(now)
    for id in ids:
        if id in found:
            continue
        if id in index._settled:
            at, read = index._settled[id]
            if index.ticker() - read < index.recheck:
                if at is None or at > now:
                    continue  # read (or written here) on an earlier pass and not due yet
                if not confirm:  # due by what this instance wrote: proposed as it is (the caller decides)
                    found[id] = {"_id": id, time_field: iso(at)}
                    continue
        doc = await source.get(id)
        when = _due_at(doc, time_field, where) if doc is not None else None
        if doc is not None and when is not None and when <= now:
            found[id] = doc
        else:
            index._settled[id] = (when, index.ticker())
    for id in [i for i in index._settled if i not in ids]:
        del index._settled[id]
    ordered = sorted(found.values(), key=lambda d: str(d.get(time_field) or ""))[:limit]
    # The cursor stays at the earliest minute still holding a due candidate: once handled, its time
    # moves and the next pass skips it. One proposed three times without moving no longer holds it
    # (the safety-net query keeps finding it).
    pinned = [ids[id] for id in found if id in ids and index._proposed.get(id, 0) < 3]
    for id in found:
        index._proposed[id] = index._proposed.get(id, 0) + 1
    for id in [i for i in index._proposed if i not in found]:
        del index._proposed[id]
    await index.advance(min([reached, *pinned]))
    return [d["_id"] for d in ordered]


def _due_at(doc: Mapping[str, Any], time_field: str, where: Mapping[str, Any]) -> datetime | None:
    """When ``doc`` comes due for a pass with ``time_field`` and ``where`` (``None``: not in that state)."""
    return _parse(doc.get(time_field)) if _matches(doc, where) else None


def _matches(doc: Mapping[str, Any], where: Mapping[str, Any]) -> bool:
    for name, cond in where.items():
        value = doc.get(name)
        if isinstance(cond, Mapping) and "$in" in cond:
            if value not in cond["$in"]:
                return False
        elif value != cond:
            return False
    return True


__all__ = ["TimeIndex", "due_ids", "iso"]

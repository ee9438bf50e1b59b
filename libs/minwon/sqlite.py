"""Every embedded SQLite file is used the same way: one connection with the same
durability (WAL, ``synchronous=FULL``: a commit is on disk when it returns), all its
calls on one thread off the event loop, and group commit for concurrent writers.

The one exception is a read of one row by primary key (:meth:`SqliteWriter.lookup`): it runs
on the caller's thread through a second, read-only connection. In WAL mode a reader never waits
for the writer nor its fsync, and a lookup takes microseconds, a fraction of the cost of
handing it to the file's thread and back (which was most of the event loop's time under load).
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

Write = Callable[[sqlite3.Connection], Any]


class SqliteWriter:
    """Every SQLite call of one file runs on one thread, off the event loop; writes
    queued while a commit is in flight share the next transaction (group commit),
    so concurrent writers pay one fsync between them, not one each."""

    def __init__(self, conn: sqlite3.Connection, name: str, path: str | Path | None = None) -> None:
        self.conn = conn
        self._path = None if path is None or str(path) == ":memory:" else str(path)
        self._reader: sqlite3.Connection | None = None
        self.lock = threading.RLock()
        self._io = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"sqlite-{name}")
        self._queue: list[tuple[Write, asyncio.Future[Any]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` on the file's thread."""
        return await asyncio.get_running_loop().run_in_executor(self._io, self._locked, fn, args)

    def _locked(self, fn: Callable[..., T], args: Sequence[Any]) -> T:
        with self.lock:
            return fn(*args)

    async def lookup(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        """A read by primary key, on the caller's thread (see the module's text); on the file's
        thread for an in-memory database, which a second connection would not see."""
        if self._path is None:
            return await self.call(lambda: self.conn.execute(sql, params).fetchall())
        if self._reader is None:
            self._reader = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            self._reader.execute("PRAGMA query_only=1")
            self._reader.execute("PRAGMA busy_timeout=1000")
        return self._reader.execute(sql, params).fetchall()  # fetched to the end: no snapshot held

    async def write(self, fn: Write) -> Any:
        """Run ``fn(conn)`` inside a transaction shared with the writes queued beside it; returns
        its result (or raises its error) once that transaction is durable."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.append((fn, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        while self._queue:
            batch, self._queue = self._queue, []
            try:
                results = await self.call(self._transaction, [fn for fn, _ in batch])
            except BaseException as exc:  # noqa: BLE001 - every writer of the batch is told
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc if isinstance(exc, Exception) else RuntimeError(str(exc)))
                if not isinstance(exc, Exception):
                    raise
                continue
            for (_, future), (ok, value) in zip(batch, results, strict=True):
                if not future.done():
                    if ok:
                        future.set_result(value)
                    else:
                        future.set_exception(value)

    def _transaction(self, fns: Sequence[Write]) -> list[tuple[bool, Any]]:
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        results: list[tuple[bool, Any]] = []
        try:
            for fn in fns:
                conn.execute("SAVEPOINT w")
                try:
                    results.append((True, fn(conn)))
                    conn.execute("RELEASE w")
                except sqlite3.Error as exc:
                    if not conn.in_transaction:
                        raise
                    conn.execute("ROLLBACK TO w")
                    conn.execute("RELEASE w")
                    results.append((False, exc))
                except Exception as exc:  # noqa: BLE001 - this writer's error, not the batch's
                    conn.execute("ROLLBACK TO w")
                    conn.execute("RELEASE w")
                    results.append((False, exc))
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return results

    def close(self) -> None:
        self._io.shutdown(wait=True)
        if self._reader is not None:
            self._reader.close()
        with self.lock:
            self.conn.close()


def connect(path: str | Path) -> sqlite3.Connection:
    """A connection with the durability every embedded file uses: WAL, synchronous=FULL."""
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA busy_timeout=5000")
    return conn

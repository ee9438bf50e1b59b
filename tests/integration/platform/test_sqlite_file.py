"""One embedded SQLite file: writes on its own thread in shared transactions, reads by primary
key on the caller's thread, never behind a write in flight."""

from __future__ import annotations

import asyncio
import sqlite3
import threading

from minwon.docstore import SqliteStore


async def test_a_lookup_by_id_does_not_wait_for_a_write_in_flight(tmp_path) -> None:
    store = SqliteStore(tmp_path / "service.sqlite")
    complaints = store.collection("complaints")
    await complaints.create({"_id": "2026-BUSAN-0000001", "status": "filed"})
    inside, release = threading.Event(), threading.Event()

    def slow(conn: sqlite3.Connection) -> None:  # a write holding the file's transaction open
        conn.execute("""UPDATE "c_complaints" SET doc = json_set(doc, '$.status', 'routed')""")
        inside.set()
        if not release.wait(30):
            raise TimeoutError("the lookup never came back while the write was open")

    writing = asyncio.create_task(store._w.write(slow))
    await asyncio.to_thread(inside.wait, 30)
    seen_during = await complaints.get("2026-BUSAN-0000001")  # on this thread, while the write is open
    release.set()
    await writing
    try:
        assert seen_during is not None and seen_during["status"] == "filed"  # the last committed state
        assert (await complaints.get("2026-BUSAN-0000001") or {})["status"] == "routed"  # the commit, at once
        assert await complaints.get("2026-BUSAN-0000002") is None
    finally:
        await store.close()


async def test_an_in_memory_file_is_read_through_its_own_connection() -> None:
    store = SqliteStore(":memory:")
    notes = store.collection("notes")
    await notes.create({"_id": "n1", "text": "kept"})
    try:
        assert (await notes.get("n1") or {})["text"] == "kept"
    finally:
        await store.close()

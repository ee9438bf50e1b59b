"""One embedded SQLite file: writes on its own thread in shared transactions, reads by primary
key on the caller's thread, never behind a write in flight."""

from __future__ import annotations

import asyncio
import sqlite3
import threading

import pytest

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


async def test_queries_on_id_walk_the_primary_key_and_give_the_same_answers(tmp_path) -> None:
    store = SqliteStore(tmp_path / "routing.sqlite")
    assignments = store.collection("assignments")
    await assignments.ensure_index("status", "department")
    await assignments.ensure_index("status", "_id")
    for n in range(30):
        status = ("assigned", "queued", "closed")[n % 3]
        await assignments.create({"_id": f"2026-BUSAN-{n:07d}", "status": status, "department": "road"})
    try:
        # a page after a key, in key order: a walk of the key from there, no sort of every match
        page = {"_id": {"$gt": "2026-BUSAN-0000009"}}
        plan = await assignments.plan(page, sort=[("_id", 1)], limit=5)
        assert "(id>?)" in plan and "TEMP B-TREE" not in plan, plan
        got = await assignments.find(page, sort=[("_id", 1)], limit=5)
        assert [d["_id"] for d in got] == [f"2026-BUSAN-{n:07d}" for n in range(10, 15)]
        # with a filter the composite index with the key serves it, again without a sort
        open_page = {"status": "queued", "_id": {"$gt": "2026-BUSAN-0000009"}}
        plan = await assignments.plan(open_page, sort=[("_id", -1)], limit=3)
        assert "ix_c_assignments_status_pk" in plan and "TEMP B-TREE" not in plan, plan
        got = await assignments.find(open_page, sort=[("_id", -1)], limit=3)
        assert [d["_id"] for d in got] == ["2026-BUSAN-0000028", "2026-BUSAN-0000025", "2026-BUSAN-0000022"]
        assert await assignments.count({"_id": {"$in": ["2026-BUSAN-0000001", "nope"]}}) == 1
    finally:
        await store.close()


async def test_the_outbox_sweep_reads_only_the_documents_with_pending_events(tmp_path) -> None:
    store = SqliteStore(tmp_path / "intake.sqlite")
    complaints = store.collection("complaints")
    for n in range(20):
        pending = [{"id": f"e{n}", "type": "complaint.received"}] if n in (3, 11) else []
        await complaints.create({"_id": f"2026-BUSAN-{n:07d}", "_outbox": pending})
    try:
        sweep = {"_outbox.0": {"$exists": True}}
        plan = await complaints.plan(sweep, limit=200)
        assert "px_c_complaints_outbox" in plan, plan
        assert sorted(d["_id"] for d in await complaints.find(sweep, limit=200)) == [
            "2026-BUSAN-0000003",
            "2026-BUSAN-0000011",
        ]
        doc = await complaints.get("2026-BUSAN-0000003")
        assert doc is not None
        await complaints.update({**doc, "_outbox": []}, expected_version=doc["_v"])  # published
        assert [d["_id"] for d in await complaints.find(sweep, limit=200)] == ["2026-BUSAN-0000011"]
    finally:
        await store.close()


async def test_a_document_is_stored_as_the_compact_json_of_earlier_versions_and_read_back(tmp_path) -> None:
    """The file's bytes do not change with the encoder, so a file written before reads the same; what
    Python's ``json`` took (a str subclass such as an e-mail header) is still taken, as its text."""
    import json
    from email.message import EmailMessage

    store = SqliteStore(tmp_path / "intake.sqlite")
    complaints = store.collection("complaints")
    mail = EmailMessage()
    mail["Message-ID"] = "<n1@minwon.notification>"
    doc = {"_id": "2026-BUSAN-0000001", "title": '가로등 고장\u2028"', "n": [1, 2.5, None, True, 2**70], "at": {}}
    await complaints.create({**doc, "message_id": mail["Message-ID"]})
    raw = store._w.conn.execute("""SELECT doc FROM "c_complaints" WHERE id = ?""", (doc["_id"],)).fetchone()[0]
    doc["message_id"] = "<n1@minwon.notification>"
    try:
        assert raw == json.dumps({**doc, "_v": 1}, ensure_ascii=False, separators=(",", ":"))
        assert await complaints.get(doc["_id"]) == {**doc, "_v": 1}
        assert await complaints.find({"title": doc["title"]}) == [{**doc, "_v": 1}]
        with pytest.raises(TypeError, match="not JSON serializable"):
            await complaints.create({"_id": "2026-BUSAN-0000002", "at": object()})
    finally:
        await store.close()

"""The embedded store answers the service's hot queries from its indexes (no scan of a million rows)."""

from __future__ import annotations

from pathlib import Path

from minwon.docstore import SqliteStore
from services.deadline.store import INDEXES

QUERIES = {
    "timers": ({"next_fire_at": {"$lte": "2026-03-10T00:00:00.000000+00:00"}}, [("next_fire_at", 1)]),
    "holiday page": ({"status": "open", "_id": {"$gt": "2026-X"}}, [("_id", 1)]),
    "overdue": (
        {"status": "open", "due_at": {"$lt": "2026-03-10T00:00:00.000000+00:00"}, "_id": {"$gt": ""}},
        [("_id", 1)],
    ),
    "replay page": ({"_id": {"$gt": "2026-X"}}, [("_id", 1)]),
    "department": ({"department": "road", "status": "open"}, [("_id", 1)]),
}


async def test_every_hot_query_searches_an_index(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "deadline.db")
    coll = store.collection("clocks")
    for fields in INDEXES:
        await coll.ensure_index(*fields)
    for name, (where, sort) in QUERIES.items():
        plan = await coll.plan(where, sort=sort, limit=200)
        assert "SEARCH" in plan and "USING INDEX" in plan, (name, plan)
        if sort == [("_id", 1)]:  # a page in key order: no sort of every match for each page
            assert "TEMP B-TREE" not in plan, (name, plan)
    await store.close()

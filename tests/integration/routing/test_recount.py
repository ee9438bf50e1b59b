"""The load counters' drift repair runs beside the assignments: it corrects a counter that drifted and
leaves one that moved while it read the assignments, so nothing counted meanwhile is lost."""

from __future__ import annotations

import uuid
from typing import Any

from minwon.outbox import Relay
from services.routing.domain import ASSIGNED, QUEUED
from services.routing.store import RoutingStore


def _assignment(id: str, status: str, handler: str | None = None, department: str = "road") -> dict[str, Any]:
    doc: dict[str, Any] = {"_id": id, "status": status, "department": department}
    if handler:
        doc["handler"] = {"id": handler}
    return doc


async def test_a_recount_corrects_drift_and_keeps_what_moved_while_it_read(backend) -> None:  # noqa: ANN001
    bus = backend.bus()
    store = RoutingStore(backend.store(f"routing{uuid.uuid4().hex[:6]}"), Relay(bus))
    assignments, counters = store.assignments.coll, store.counters
    try:
        for n in range(3):
            await assignments.put(_assignment(f"a{n}", ASSIGNED, "kim"))
        await assignments.put(_assignment("a3", ASSIGNED, "lee"))
        await assignments.put(_assignment("q0", QUEUED))
        # drift: a crash between assignments and their counters
        await counters.put({"_id": "load:kim", "n": 5})
        await counters.put({"_id": "load:lee", "n": 0})
        await counters.put({"_id": "load:park", "n": 2})  # all of park's complaints closed since

        real_find = assignments.find

        async def find_while_lee_takes_one(*args: Any, **kwargs: Any) -> Any:
            page = await real_find(*args, **kwargs)
            # meanwhile this process gives lee another complaint, after the page that counted lee's
            await assignments.put(_assignment("a4", ASSIGNED, "lee"))
            await store.account(None, _assignment("a4", ASSIGNED, "lee"))
            return page

        assignments.find = find_while_lee_takes_one  # type: ignore[method-assign]
        assert await store.recount(force=True)
        assignments.find = real_find  # type: ignore[method-assign]

        got = {d["_id"]: d["n"] for d in await counters.find({})}
        assert got["load:kim"] == 3 and got["load:park"] == 0  # corrected
        assert got["queued"] == 1 and got["queued:road"] == 1  # created where missing
        assert got["load:lee"] == 1, "moved while the assignments were read: left to the next recount"
        # the queue lists: what waits and was not listed is added; a stale entry is left to the readers
        assert [e[0] for e in await store.queue.waiting("road")] == ["q0"]
        await store.queue.add("road", [("gone", False, "", "")])

        assert await store.recount(force=True)  # the next recount, nothing moving: lee's two
        got = {d["_id"]: d["n"] for d in await counters.find({})}
        assert got["load:lee"] == 2 and got["load:kim"] == 3
        assert sorted(e[0] for e in await store.queue.waiting("road")) == ["gone", "q0"]
        assert await store.recount() is False  # not forced: counters exist, no scan
    finally:
        await bus.stop()

"""The timer wheel over both store adapters: due documents are found by _id lookups alone."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from minwon.docstore import iso
from minwon.outbox import Aggregates, Relay
from minwon.scans import ScanBudget
from minwon.timers import TimeIndex, due_ids
from tests import spies


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def test_due_documents_come_from_the_wheel_without_a_query(backend) -> None:
    store = backend.store("contract")
    tag = uuid.uuid4().hex[:8]
    clock = Clock(datetime(2030, 1, 7, 9, 0, tzinfo=UTC))
    wheel = TimeIndex(store.collection(f"w{tag}", deletes=True), ("fire_at",), clock=clock, rescan_every=10**9)
    docs = Aggregates(store.collection(f"d{tag}"), Relay(backend.bus()), timers=(wheel,))
    scans: list[datetime] = []

    async def scan() -> list[dict]:  # the safety net: allowed once, at the first pass
        scans.append(clock.now)
        return []

    async def due() -> list[str]:
        return await due_ids(
            wheel, docs.coll, now=clock.now, limit=10, time_field="fire_at", where={"status": "waiting"}, scan=scan
        )

    assert await due() == []
    for n, minutes in enumerate((5, 1, 3, 20)):
        at = iso(clock.now + timedelta(minutes=minutes))
        await docs.apply(f"r{n}", lambda _, at=at: ({"status": "waiting", "fire_at": at}, []))
    await docs.apply("closed", lambda _: ({"status": "closed", "fire_at": iso(clock.now)}, []))

    clock.now += timedelta(minutes=4)
    assert await due() == ["r1", "r2"]  # earliest first; "closed" does not match
    for id in ("r1", "r2"):  # handled: their next time moves on
        await docs.apply(id, lambda s: ({**s, "fire_at": iso(clock.now + timedelta(days=1))}, []))
    clock.now += timedelta(minutes=2)
    assert await due() == ["r0"]
    assert await due() == ["r0"]  # not handled yet: proposed again
    await docs.apply("r0", lambda s: ({**s, "fire_at": iso(clock.now + timedelta(minutes=10))}, []))
    await docs.apply("late", lambda _: ({"status": "waiting", "fire_at": iso(clock.now - timedelta(hours=5))}, []))
    assert await due() == ["late"]  # a time already past is filed under now
    await docs.apply("late", lambda s: ({**s, "status": "done"}, []))
    clock.now += timedelta(minutes=14)
    assert await due() == ["r0", "r3"]
    assert len(scans) == 1


def _queried(
    backend, *, limit: int, rescan_every: float, seconds: list[float] | None = None
) -> tuple[Clock, TimeIndex, Aggregates, Callable[[], Awaitable[list[str]]]]:  # noqa: ANN001
    """A wheel whose safety net is the plain query (``limit`` a pass), its documents, and one pass. The
    store's scan budget counts real time on ``seconds[0]`` when given."""
    store = backend.store("contract")
    if seconds is not None:
        store.scans = ScanBudget("contract", ticker=lambda: seconds[0])
    tag = uuid.uuid4().hex[:8]
    clock = Clock(datetime(2030, 1, 7, 9, 0, tzinfo=UTC))
    wheel = TimeIndex(store.collection(f"w{tag}", deletes=True), ("fire_at",), clock=clock, rescan_every=rescan_every)
    docs = Aggregates(store.collection(f"d{tag}"), Relay(backend.bus()), timers=(wheel,))

    async def scan() -> list[dict]:
        return await docs.coll.find({"fire_at": {"$lte": iso(clock.now)}}, sort=[("fire_at", 1)], limit=limit)

    async def due() -> list[str]:
        return await due_ids(wheel, docs.coll, now=clock.now, limit=limit, time_field="fire_at", where={}, scan=scan)

    return clock, wheel, docs, due


async def test_after_a_long_stop_the_safety_net_query_drains_the_backlog(backend) -> None:
    clock, _, docs, due = _queried(backend, limit=2, rescan_every=10**9)
    assert await due() == []
    for n in range(5):
        at = iso(clock.now + timedelta(minutes=n + 1))
        await docs.apply(f"r{n}", lambda _, at=at: ({"fire_at": at}, []))
    clock.now += timedelta(days=2)  # far past the minutes a pass walks back
    drained: list[str] = []
    while page := await due():
        drained += page
        for id in page:
            await docs.apply(id, lambda s: ({**s, "fire_at": iso(clock.now + timedelta(days=1))}, []))
    assert drained == [f"r{n}" for n in range(5)]


async def test_pages_of_passed_minutes_left_behind_are_deleted_with_the_safety_net(backend) -> None:
    seconds = [0.0]
    clock, wheel, docs, due = _queried(backend, limit=10, rescan_every=600, seconds=seconds)
    assert await due() == []
    await docs.apply("soon", lambda _: ({"fire_at": iso(clock.now + timedelta(minutes=3))}, []))
    await docs.apply("later", lambda _: ({"fire_at": iso(clock.now + timedelta(hours=1))}, []))
    # what a crash while advance() deleted a passed minute's pages leaves, or a gap of days
    left = ["2030-01-07T08:30/1/2", "2030-01-04T17:59/3"]
    for id in left:
        assert await wheel.coll.create({"_id": id, "ids": ["gone"]})
    kept = {"cursor", wheel._key("2030-01-07T09:03", "soon"), wheel._key("2030-01-07T10:00", "later")}

    clock.now += timedelta(minutes=4)
    seconds[0] += 240
    assert await due() == ["soon"]  # not handled: it holds the cursor at its minute
    assert {d["_id"] for d in await wheel.coll.find({})} == kept | set(left)  # the safety net is not due yet
    clock.now += timedelta(minutes=10)
    seconds[0] += 600
    assert await due() == ["soon"]
    assert {d["_id"] for d in await wheel.coll.find({})} == kept


class CountingReads:
    """A collection whose reads by id are counted (everything else passes through)."""

    def __init__(self, coll) -> None:
        self.coll = coll
        self.reads: list[str] = []

    async def get(self, id: str):
        self.reads.append(id)
        return await self.coll.get(id)


def _rechecked(backend) -> tuple[Clock, list[float], TimeIndex, Aggregates, CountingReads]:  # noqa: ANN001
    """A wheel with a 15 s recheck counted on ``seconds[0]``, real time the test moves (the service's
    clock may stand still), its documents, and their reads by id."""
    store = backend.store("contract")
    tag = uuid.uuid4().hex[:8]
    clock = Clock(datetime(2030, 1, 7, 9, 0, 10, tzinfo=UTC))
    seconds = [0.0]
    wheel = TimeIndex(
        store.collection(f"w{tag}", deletes=True),
        ("fire_at",),
        clock=clock,
        rescan_every=10**9,
        recheck=15,
        ticker=lambda: seconds[0],
    )
    docs = Aggregates(store.collection(f"d{tag}"), Relay(backend.bus()), timers=(wheel,))
    return clock, seconds, wheel, docs, CountingReads(docs.coll)


async def test_a_candidate_not_due_is_read_again_only_after_a_write_or_the_recheck(backend) -> None:
    clock, seconds, wheel, docs, source = _rechecked(backend)

    async def scan() -> list[dict]:
        return []

    async def due() -> list[str]:
        return await due_ids(
            wheel, source, now=clock.now, limit=10, time_field="fire_at", where={"status": "waiting"}, scan=scan
        )

    # both filed under this minute, the open bucket every pass reads: one due in 40 s, one already sent
    await docs.apply("later", lambda _: ({"status": "waiting", "fire_at": iso(clock.now + timedelta(seconds=40))}, []))
    await docs.apply("sent", lambda _: ({"status": "waiting", "fire_at": iso(clock.now + timedelta(seconds=5))}, []))
    await docs.apply("sent", lambda s: ({**s, "status": "sent"}, []))
    assert await due() == []
    assert sorted(source.reads) == ["later", "sent"]
    for _ in range(5):
        clock.now += timedelta(seconds=1)
        seconds[0] += 1
        assert await due() == []
    assert sorted(source.reads) == ["later", "sent"]  # five more passes, no read

    # a write through this wheel's aggregates is seen at once
    await docs.apply("later", lambda s: ({**s, "fire_at": iso(clock.now)}, []))
    assert await due() == ["later"]
    await docs.apply("later", lambda s: ({**s, "status": "done"}, []))

    # a write that bypasses the wheel (another instance, a command) is seen within ``recheck``
    await docs.coll.put({"_id": "sent", "status": "waiting", "fire_at": iso(clock.now)})
    assert await due() == []
    seconds[0] += 15  # real time passes, the service's clock stands still
    assert await due() == ["sent"]


async def test_a_pass_takes_what_this_instance_wrote_as_read(backend) -> None:
    clock, seconds, wheel, docs, source = _rechecked(backend)

    async def scan() -> list[dict]:
        return []

    async def due(*, confirm: bool = True) -> list[str]:
        return await due_ids(
            wheel,
            source,
            now=clock.now,
            limit=10,
            time_field="fire_at",
            where={"status": "waiting"},
            scan=scan,
            confirm=confirm,
        )

    def waiting(after: timedelta):  # noqa: ANN202
        return lambda s: ({**(s or {}), "status": "waiting", "fire_at": iso(clock.now + after)}, [])

    assert await due() == []  # a first pass: the wheel learns what its passes look for
    await docs.apply("later", waiting(timedelta(seconds=40)))
    await docs.apply("sent", waiting(timedelta(seconds=5)))
    await docs.apply("sent", lambda s: ({**s, "status": "sent"}, []))
    await docs.apply("now", waiting(timedelta(0)))
    assert await due() == ["now"] and source.reads == ["now"]  # only what was written due is read, to confirm it
    assert await due(confirm=False) == ["now"] and source.reads == ["now"]  # proposed on what was written

    clock.now += timedelta(seconds=1)
    await docs.coll.put({"_id": "later", "status": "waiting", "fire_at": iso(clock.now)})  # written elsewhere
    assert await due(confirm=False) == ["now"]  # seen within ``recheck``, as a read would be
    seconds[0] += 15
    assert await due(confirm=False) == ["now", "later"]
    assert sorted(source.reads) == ["later", "now", "now", "sent"]  # each read again once its time ran out


async def test_a_costly_safety_net_scan_rests_for_its_cost_over_its_share(backend) -> None:
    store = backend.store("contract")
    tag = uuid.uuid4().hex[:8]
    clock = Clock(datetime(2030, 1, 7, 9, 0, tzinfo=UTC))
    seconds = [0.0]
    store.scans = ScanBudget("contract", share=0.05, ticker=lambda: seconds[0])  # the store's scans take turns
    wheel = TimeIndex(
        store.collection(f"w{tag}", deletes=True), ("fire_at",), clock=clock, rescan_every=30, ticker=lambda: seconds[0]
    )
    source = store.collection(f"d{tag}")
    scans: list[float] = []

    async def scan() -> list[dict]:  # as slow as a query scanning a large collection
        scans.append(seconds[0])
        seconds[0] += 2.0
        return []

    async def one_pass() -> None:
        await due_ids(wheel, source, now=clock.now, limit=10, time_field="fire_at", where={}, scan=scan)

    await one_pass()  # at start
    for _ in range(4):  # every 30 s by the service's clock, but 2 s at 5 % rest 40 s
        clock.now += timedelta(seconds=30)
        seconds[0] += 30
        await one_pass()
    assert scans == [0.0, 62.0, 124.0]


class CountingBuckets(CountingReads):
    """The wheel's own collection, its bucket reads counted (writes pass through)."""

    def __getattr__(self, name: str):
        return getattr(self.coll, name)


async def test_a_pass_reads_the_open_buckets_once_per_recheck_and_its_own_filings_at_once(backend) -> None:
    store = backend.store("contract")
    tag = uuid.uuid4().hex[:8]
    clock = Clock(datetime(2030, 1, 7, 9, 0, 10, tzinfo=UTC))
    seconds = [0.0]
    buckets = CountingBuckets(store.collection(f"w{tag}", deletes=True))
    wheel = TimeIndex(buckets, ("fire_at",), clock=clock, rescan_every=10**9, recheck=15, ticker=lambda: seconds[0])
    other = TimeIndex(store.collection(f"w{tag}", deletes=True), ("fire_at",), clock=clock, rescan_every=10**9)
    docs = Aggregates(store.collection(f"d{tag}"), Relay(backend.bus()), timers=(wheel,))

    async def scan() -> list[dict]:
        return []

    async def due() -> list[str]:
        return await due_ids(wheel, docs.coll, now=clock.now, limit=10, time_field="fire_at", where={}, scan=scan)

    def bucket_reads() -> int:
        return sum(1 for id in buckets.reads if "/" in id)

    assert await due() == []
    first = bucket_reads()
    assert first == wheel.shards  # the open minute's buckets, read once
    for _ in range(10):  # ten passes a second apart: nothing read again
        seconds[0] += 1
        clock.now += timedelta(seconds=1)
        assert await due() == []
    assert bucket_reads() == first

    # filed through this wheel: proposed on the next pass without reading its bucket back
    await docs.apply("mine", lambda _: ({"fire_at": iso(clock.now)}, []))
    reads = bucket_reads()
    assert await due() == ["mine"]
    await docs.apply("mine", lambda s: ({**s, "fire_at": iso(clock.now + timedelta(days=1))}, []))

    # filed by another instance: seen once ``recheck`` has passed since the bucket was read
    await docs.coll.put({"_id": "theirs", "fire_at": iso(clock.now)})
    await other.file("theirs", iso(clock.now))
    assert await due() == []
    seconds[0] += 15
    assert await due() == ["theirs"]
    assert bucket_reads() > reads


async def test_a_minute_many_share_is_kept_on_pages_of_bounded_size(backend, monkeypatch) -> None:
    """Times piling up in one minute (a night's filings, all first due the same morning minute) go on pages
    of ``PAGE_IDS``: a filing rewrites one page, never every id filed before it. A pass reads every page,
    another instance files on after the full ones, and the pages go once their minute has passed."""
    from minwon import timers

    monkeypatch.setattr(timers, "PAGE_IDS", 3)
    store = backend.store("contract")
    tag = uuid.uuid4().hex[:8]
    clock = Clock(datetime(2030, 1, 7, 9, 0, tzinfo=UTC))
    coll = store.collection(f"w{tag}", deletes=True)
    wheel = TimeIndex(coll, ("fire_at",), clock=clock, shards=1, rescan_every=10**9, recheck=0)
    other = TimeIndex(store.collection(f"w{tag}", deletes=True), ("fire_at",), clock=clock, shards=1)
    docs = Aggregates(store.collection(f"d{tag}"), Relay(backend.bus()), timers=(wheel,))
    at = iso(clock.now + timedelta(minutes=5))
    for n in range(7):
        await docs.apply(f"r{n}", lambda _: ({"fire_at": at}, []))
    await docs.coll.put({"_id": "theirs", "fire_at": at})
    await other.file("theirs", at)
    bucket = "2030-01-07T09:05/0"
    pages = [await coll.get(key) for key in (bucket, f"{bucket}/1", f"{bucket}/2", f"{bucket}/3")]
    assert [d["ids"] if d else None for d in pages] == [
        ["r0", "r1", "r2"],
        ["r3", "r4", "r5"],
        ["r6", "theirs"],
        None,
    ]

    async def scan() -> list[dict]:
        return []

    async def due() -> list[str]:
        return await due_ids(wheel, docs.coll, now=clock.now, limit=10, time_field="fire_at", where={}, scan=scan)

    assert await due() == []
    clock.now += timedelta(minutes=5)
    assert sorted(await due()) == sorted([*(f"r{n}" for n in range(7)), "theirs"])
    for id in [*(f"r{n}" for n in range(7)), "theirs"]:
        await docs.apply(id, lambda s: ({**s, "fire_at": iso(clock.now + timedelta(days=1))}, []))
    clock.now += timedelta(minutes=2)
    assert await due() == []  # the cursor moved past 09:05: its pages are gone
    assert [await coll.get(key) for key in (bucket, f"{bucket}/1", f"{bucket}/2")] == [None, None, None]


async def test_filings_of_one_bucket_that_come_together_share_a_write(backend, monkeypatch) -> None:
    """Lanes filing under one minute at once would each read the page and collide on its version; those
    that come while a write's page is read go with that write (spilling onto the next page when full)."""
    from minwon import timers

    monkeypatch.setattr(timers, "PAGE_IDS", 8)
    writes = [*(spies.calls(monkeypatch, m, "wjoin") for m in ("create", "update"))]
    store = backend.store("contract")
    clock = Clock(datetime(2030, 1, 7, 9, 0, tzinfo=UTC))
    wheel = TimeIndex(store.collection("wjoin", deletes=True), ("fire_at",), clock=clock, shards=1)
    at = iso(clock.now + timedelta(minutes=5))
    await asyncio.gather(*(wheel.file(f"r{n}", at) for n in range(20)))
    pages = [
        await store.collection("wjoin", deletes=True).get(key)
        for key in ("2030-01-07T09:05/0", "2030-01-07T09:05/0/1", "2030-01-07T09:05/0/2")
    ]
    assert sorted(i for p in pages for i in p["ids"]) == sorted(f"r{n}" for n in range(20))
    assert [len(p["ids"]) for p in pages] == [8, 8, 4]
    assert len([d for each in writes for d in each]) == 3  # one write a page, not one (or more) a filing


async def test_a_held_time_is_filed_only_if_no_write_clears_it_within_the_hold(backend) -> None:
    """A notice being sent: its claim's time is filed after the hold if it is still there, and not at
    all when the send's record clears it sooner (one bucket write saved per notice)."""
    import asyncio

    store = backend.store("contract")
    tag = uuid.uuid4().hex[:8]
    clock = Clock(datetime(2030, 1, 7, 9, 0, tzinfo=UTC))
    buckets = store.collection(f"w{tag}", deletes=True)
    wheel = TimeIndex(
        buckets,
        ("retry_at",),
        clock=clock,
        hold=lambda doc: 0.3 if doc.get("status") == "sending" else None,
    )
    docs = Aggregates(store.collection(f"d{tag}"), Relay(backend.bus()), timers=(wheel,))
    retry_at = iso(clock.now + timedelta(minutes=5))

    async def filed() -> set[str]:
        listed: set[str] = set()
        for shard in range(wheel.shards):
            listed |= set(((await buckets.get(f"2030-01-07T09:05/{shard}")) or {}).get("ids", []))
        return listed

    for id in ("sent", "stuck"):
        await docs.apply(id, lambda _: ({"status": "sending", "retry_at": retry_at}, []))
    await docs.apply("waiting", lambda _: ({"status": "waiting", "retry_at": retry_at}, []))
    assert await filed() == {"waiting"}  # not held: filed at once
    await docs.apply("sent", lambda s: ({**s, "status": "sent", "retry_at": None}, []))  # within the hold
    await asyncio.sleep(1.0)
    assert await filed() == {"waiting", "stuck"}  # still being sent after the hold: filed


async def test_a_stopping_relay_files_what_its_wheels_hold(backend) -> None:
    """A service stopped (a rolling restart) within a hold: the time is filed as it stops, so the next
    instance finds it in the wheel, not only in a safety-net query minutes later."""
    store = backend.store("contract")
    tag = uuid.uuid4().hex[:8]
    clock = Clock(datetime(2030, 1, 7, 9, 0, tzinfo=UTC))
    buckets = store.collection(f"w{tag}", deletes=True)
    wheel = TimeIndex(buckets, ("retry_at",), clock=clock, hold=lambda doc: 3600.0)
    relay = Relay(backend.bus())
    docs = Aggregates(store.collection(f"d{tag}"), relay, timers=(wheel,))
    await docs.apply("held", lambda _: ({"status": "sending", "retry_at": iso(clock.now + timedelta(minutes=5))}, []))
    filed = [await buckets.get(f"2030-01-07T09:05/{shard}") for shard in range(wheel.shards)]
    assert not any(filed)  # held for an hour
    await relay.stop()
    filed = [await buckets.get(f"2030-01-07T09:05/{shard}") for shard in range(wheel.shards)]
    assert [doc["ids"] for doc in filed if doc] == [["held"]]
    assert await wheel.file_held() == 0  # nothing held any more

    # a consumer still handling an event while its service stops: its time is filed at once
    await docs.apply("late", lambda _: ({"status": "sending", "retry_at": iso(clock.now + timedelta(minutes=5))}, []))
    filed = [await buckets.get(f"2030-01-07T09:05/{shard}") for shard in range(wheel.shards)]
    assert sorted(id for doc in filed if doc for id in doc["ids"]) == ["held", "late"]

    await relay.start()  # started again: holding again
    await docs.apply("again", lambda _: ({"status": "sending", "retry_at": iso(clock.now + timedelta(minutes=5))}, []))
    filed = [await buckets.get(f"2030-01-07T09:05/{shard}") for shard in range(wheel.shards)]
    assert "again" not in [id for doc in filed if doc for id in doc["ids"]]
    await relay.stop()


async def test_a_bulk_writer_asks_for_the_safety_net_at_the_next_pass(backend) -> None:
    """A replay files nothing and calls ``rescan_soon``: the next pass runs the query at once, and the
    pass after goes back to its interval when the page was not full."""
    store = backend.store("contract")
    tag = uuid.uuid4().hex[:8]
    clock = Clock(datetime(2030, 1, 7, 9, 0, tzinfo=UTC))
    wheel = TimeIndex(store.collection(f"w{tag}", deletes=True), ("fire_at",), clock=clock, rescan_every=10**9)
    coll = store.collection(f"d{tag}")
    scans: list[datetime] = []

    async def scan() -> list[dict]:
        scans.append(clock.now)
        return []

    async def due() -> list[str]:
        return await due_ids(wheel, coll, now=clock.now, limit=10, time_field="fire_at", where={}, scan=scan)

    await due()
    await due()
    assert len(scans) == 1  # the first pass's, then the interval
    wheel.rescan_soon()
    await due()
    assert len(scans) == 2
    await due()
    assert len(scans) == 2

"""``minwon deadline compute`` and ``minwon replay deadline``, as an operator runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from apps import cli
from minwon.events import derive_id
from tests.integration.deadline.harness import (
    MovableClock,
    deadline_events,
    feed,
    now_utc,
    receipt,
    received,
    signal_counts,
    started,
)

ROOT = Path(__file__).resolve().parents[3]
MINWON = ROOT / ".venv" / "bin" / "minwon"


def _minwon(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    command = [str(MINWON)] if MINWON.exists() else [sys.executable, "-m", "apps.cli"]
    return subprocess.run(
        [*command, *args], cwd=ROOT, env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=300
    )


def test_compute_prints_the_due_time_as_json(capsys) -> None:
    code = cli.main(
        [
            "deadline",
            "compute",
            "--received",
            "2026-03-10T10:00:00+09:00",
            "--kind",
            "grievance",
            "--pause",
            "2026-03-11T10:00:00+09:00/2026-03-13T10:00:00+09:00",
            "--extend",
            "3d",
        ]
    )
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["due_at"] == "2026-03-24T18:00:00+09:00" and out["basis"] == "days"
    assert out["warning_at"] == "2026-03-23T09:00:00+09:00"
    assert out["escalations"] == ["2026-03-23T09:00:00+09:00", "2026-03-25T09:00:00+09:00", "2026-03-26T09:00:00+09:00"]


def test_compute_with_a_period_and_an_added_holiday(capsys) -> None:
    assert cli.main(["deadline", "compute", "--received", "2026-03-10T10:00:00+09:00", "--period", "2w"]) == 0
    assert json.loads(capsys.readouterr().out)["due_at"] == "2026-03-23T18:00:00+09:00"  # last day Mon the 23rd
    assert (
        cli.main(
            [
                "deadline",
                "compute",
                "--received",
                "2026-03-10T10:00:00+09:00",
                "--period",
                "2w",
                "--holiday",
                "2026-03-23",
            ]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)["due_at"] == "2026-03-24T18:00:00+09:00"


def test_compute_errors_name_the_flag(capsys) -> None:
    cases = [
        (["--received", "2026-03-10T10:00:00", "--kind", "grievance"], "--received"),
        (["--received", "2026-03-10T10:00:00+09:00", "--kind", "gossip"], "--kind"),
        (["--received", "2026-03-10T10:00:00+09:00", "--period", "3x"], "--period"),
        (
            [
                "--received",
                "2026-03-10T10:00:00+09:00",
                "--kind",
                "grievance",
                "--pause",
                "2026-03-11T10:00:00+09:00/2026-03-11T09:00:00+09:00",
            ],
            "--pause[0].end",
        ),
        (["--received", "2026-03-10T10:00:00+09:00", "--kind", "grievance", "--pause", "2026-03-11"], "--pause[0]"),
        (["--received", "2026-03-10T10:00:00+09:00", "--kind", "grievance", "--extend", "30d"], "--extend"),
    ]
    for args, flag in cases:
        assert cli.main(["deadline", "compute", *args]) == 2, args
        error = json.loads(capsys.readouterr().err)
        assert error["fields"][0]["field"] == flag, (args, error)


def test_the_console_script_computes_too() -> None:
    done = _minwon(
        "deadline",
        "compute",
        "--received",
        "2026-03-10T10:00:00+09:00",
        "--kind",
        "statutory",
        "--statutory-type",
        "building_permit",
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["period"] == "10d"


def _env(backend) -> dict[str, str]:
    s = backend.settings()
    env = {"MINWON_BACKEND": s.backend, "MINWON_DATA_DIR": str(s.data_dir)}
    if backend.distributed:
        env.update(
            KAFKA_BOOTSTRAP_SERVERS=s.kafka_bootstrap_servers,
            MONGODB_URI=s.mongodb_uri,
            MINWON_KAFKA_TOPIC_PREFIX=s.kafka_topic_prefix,
            MINWON_KAFKA_PARTITIONS=str(s.kafka_partitions),
            MINWON_DATABASE_PREFIX=s.database_prefix,
        )
    return env


async def test_replay_dry_run_rebuild_and_republish_from_the_command_line(backend) -> None:
    clock = MovableClock(now_utc())
    store, bus = backend.store("deadline"), backend.bus()
    deadlines = await started(backend, store, bus, clock)
    r = receipt()
    await feed(bus, deadlines, received(r, clock.now - timedelta(days=60)))
    assert await deadlines.fire_due() == 7
    before = await store.collection("clocks").get(r)
    missed = receipt()  # on the log, but the service never handled it (it was down, say)
    await bus.publish("minwon.complaints.v1", received(missed, clock.now - timedelta(hours=1)))
    env = _env(backend)

    dry = _minwon("replay", "deadline", "--dry-run", env=env)
    assert dry.returncode == 0, dry.stderr
    report = json.loads(dry.stdout)
    assert report["mode"] == "dry-run" and report["events_that_would_be_published"] == 1  # the missed one's set
    assert report["changes"]["unchanged"] == 1 and report["changes"]["new"] == 1
    assert report["changes"]["changed"] == 0 and report["signals_known_as_emitted"] == 7
    assert "replay deadline" in dry.stderr  # the progress line
    assert await store.collection("clocks").get(missed) is None  # a dry run writes nothing ...
    assert await deadline_events(bus, missed) == []  # ... and publishes nothing

    await store.drop()
    done = _minwon("replay", "deadline", "--from", "beginning", env=env)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["clocks"]["open"] == 2 and summary["events_published"] == 1
    assert summary["events_read"]["minwon.complaints.v1"] == 2 and summary["events_read"]["minwon.deadlines.v1"] == 8
    assert [e.type for e in await deadline_events(bus, missed)] == ["kr.minwon.deadline.set.v1"]
    after = await store.collection("clocks").get(r)
    assert (after["due_at"], after["next_fire_at"], sorted(e["name"] for e in after["emitted"])) == (
        before["due_at"],
        before["next_fire_at"],
        sorted(e["name"] for e in before["emitted"]),
    )

    since = (clock.now - timedelta(seconds=1)).isoformat()
    again = _minwon("replay", "deadline", "--republish", "--from", since, "--quiet", env=env)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["total"] == 7
    by_id, _ = signal_counts(await deadline_events(bus, r))
    assert set(by_id.values()) == {2} and derive_id(r, "signal", "breached") in by_id

    bad = _minwon("replay", "deadline", "--from", "yesterday", env=env)
    assert bad.returncode == 2 and json.loads(bad.stderr)["fields"][0]["field"] == "--from"
    await bus.stop()


async def test_recount_statistics_from_the_command_line(backend) -> None:
    clock = MovableClock(now_utc())
    store, bus = backend.store("deadline"), backend.bus()
    deadlines = await started(backend, store, bus, clock)
    for _ in range(2):
        await feed(bus, deadlines, received(receipt(), clock.now - timedelta(days=1)))
    cells = store.collection("statistics", deletes=True)

    async def received_by_cell() -> dict[str, int]:
        out: dict[str, int] = {}
        for d in await cells.find({}):  # a cell may be kept in several documents (shards)
            key = "|".join(d[k] for k in ("month", "department", "category", "channel"))
            out[key] = out.get(key, 0) + (d.get("counts") or {}).get("received", 0)
        return out

    kept = await received_by_cell()
    assert sum(kept.values()) == 2
    for doc in await cells.find({}):  # counters lost (a crash between the clock and the counter write)
        await cells.delete(doc["_id"])

    done = _minwon("deadline", "recount-statistics", env=_env(backend))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["cells_written"] == len(kept)
    assert await received_by_cell() == kept

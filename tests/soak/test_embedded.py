"""Soak, embedded: ``minwon run`` as a real process takes N complaints from concurrent citizens
while it is SIGKILLed and restarted several times. Every acknowledged complaint ends routed, with
a deadline clock and exactly one receipt notice; nothing is dead-lettered; the backlog drains."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from minwon.bus import SqliteBus
from minwon.topics import DEADLETTER
from tests.e2e.harness import MinwonProcess
from tests.factories import STAFF
from tests.soak.harness import (
    QUICK_ENV,
    Citizens,
    Endpoints,
    Fault,
    FaultLog,
    SoakConfig,
    Verdict,
    crash_and_restart,
    filings,
    keep_logs,
    non_json_lines,
    notice_latencies,
    run_faults,
    sweep,
    wait_lag_zero,
    wait_processed,
)

CONFIG = SoakConfig.from_env()
pytestmark = pytest.mark.timeout(CONFIG.test_timeout(CONFIG.complaints))


def dead_letters(events_db: Path) -> list[dict[str, object]]:
    """Every letter on the dead-letter topic of the embedded log (read through the bus port)."""

    async def read() -> list[dict[str, object]]:
        bus = SqliteBus(events_db)
        try:
            return [
                {
                    "subject": e.subject,
                    "group": e.data.get("group"),
                    "topic": e.data.get("topic"),
                    "error": e.data.get("error"),
                }
                async for _, e in bus.read([DEADLETTER])
            ]
        finally:
            close = getattr(bus, "close", None)
            if close:
                close()

    return asyncio.run(read())


def test_embedded_soak_with_crashes(tmp_path: Path, soak_config: SoakConfig, summaries: list[str]) -> None:
    config = soak_config
    proc = MinwonProcess(tmp_path / "var", env=QUICK_ENV)
    proc.start()
    at = Endpoints(proc.url, proc.url, proc.url, proc.url, STAFF)
    verdict = Verdict()
    log = FaultLog()
    try:
        citizens = Citizens(
            lambda: proc.url, filings(config.complaints), clients=config.clients, give_up=config.give_up_seconds
        )
        faults = [
            Fault((i + 1) / (config.kills + 1), f"SIGKILL minwon run #{i + 1}", crash_and_restart(proc))
            for i in range(config.kills)
        ]
        citizens.start()
        chaos = run_faults(citizens, faults, log)
        citizens.join()
        chaos.join(timeout=300)
        acked = verdict.citizens(citizens)

        states, drained = wait_processed(at, [f.receipt for f in acked if f.receipt], timeout=config.drain_seconds)
        lag_wait, lag = wait_lag_zero([proc.url], timeout=60 if drained is not None else 0)
        time.sleep(3)  # a late duplicate notice would show up now
        final = sweep(at, [f.receipt for f in acked if f.receipt], with_intake=True)
        verdict.check_states(acked, final)
        latency = notice_latencies(acked, final)
    finally:
        proc.stop()
    letters = dead_letters(proc.data_dir / "events.db")

    verdict.figures.update(
        kills=len(log.entries),
        faults=log.entries,
        drained_seconds_after_filing=None if drained is None else round(drained, 1),
        lag_zero_after_seconds=None if lag_wait is None else round(lag_wait, 1),
        lag_nonzero={"/".join(k): v for k, v in lag.items() if v != 0},
        post_to_receipt_notice_s={k: None if v is None else round(v, 2) for k, v in latency.items()},
        dead_letters=len(letters),
    )
    for error in log.errors:
        verdict.problem("fault could not be run", error)
    if drained is None:
        verdict.problem("backlog not drained", f"within {config.drain_seconds:.0f} s")
    if lag_wait is None:
        verdict.problem("consumer lag not 0", str({"/".join(k): v for k, v in lag.items() if v != 0}))
    for letter in letters:
        verdict.problem("dead letters", f"{letter['subject']} {letter['group']} {letter['error']}")
    for line in non_json_lines(tmp_path):  # every process writes one JSON object a line
        verdict.problem("log line is not JSON", line)
    if verdict.problems:
        verdict.figures["logs"] = str(keep_logs(proc.data_dir, "embedded"))
    summaries.append(
        verdict.render(f"embedded soak ({config.size}, {config.complaints} complaints, {config.kills} SIGKILLs)")
    )
    assert not verdict.problems, verdict.brief()

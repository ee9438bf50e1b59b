"""On a fresh start (embedded, as `make run`), every metric a Grafana dashboard or a Prometheus alert rule
names is already in /metrics with a series, so panels read 0 instead of "No data"."""

from __future__ import annotations

import re
from pathlib import Path

from litestar.testing import AsyncTestClient

from apps.host import build_app
from minwon.settings import Settings

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"


def named_metrics() -> set[str]:
    names: set[str] = set()
    for folder in ("grafana", "prometheus"):
        for path in (DEPLOY / folder).rglob("*"):
            if path.is_file() and path.suffix in (".json", ".yml", ".yaml"):
                names |= set(re.findall(r"minwon_[a-z_]+[a-z]", path.read_text("utf-8")))
    return {re.sub(r"_(bucket|count|sum)$", "", n) for n in names}


async def test_every_metric_a_dashboard_or_alert_names_has_a_series_on_a_fresh_start(tmp_path) -> None:
    names = named_metrics()
    assert len(names) >= 20, names  # the dashboards and rules were found
    async with AsyncTestClient(build_app(Settings(data_dir=tmp_path / "var"))) as client:
        text = (await client.get("/metrics")).text
    missing = sorted(n for n in names if not re.search(rf"^{n}(_total|_bucket|_count|_sum)?(\{{| )", text, re.M))
    assert missing == []
    # the labelled series exist for the known label values (at 0 in a fresh process; other tests of this
    # process may have counted since, the registry being per process)
    assert re.search(r'^minwon_deadline_signals_total\{department="road",signal="stage.notify"\} \d', text, re.M)
    assert re.search(
        r'^minwon_bus_retries_total\{group="minwon-notification",topic="minwon.complaints.v1"\} \d', text, re.M
    )

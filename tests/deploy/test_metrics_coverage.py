"""Every metric a dashboard panel, an alert rule or the autoscaling adapter queries is one the system exposes.

Starts all six services in one process on embedded storage, files a complaint through the API, waits until
the bus has carried it to a consumer, scrapes /metrics, and compares names (minwon_* only; a histogram's
_bucket/_sum/_count series count as the histogram). A dashboard querying a renamed or never-built metric shows
an empty panel forever, and an alert on it never fires: this test is how that is found before SRE does.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from litestar.testing import AsyncTestClient

from apps.host import build_app
from minwon.settings import Settings
from tests.deploy._deploy import METRICS_DOC, exposed_metrics, missing_metrics, used_metrics


def complaint() -> dict[str, object]:
    return {
        "name": "홍길동",
        "phone": "010-1234-5678",
        "address": "부산광역시 해운대구 우동 1",
        "title": "가로등 고장",
        "body": "집 앞 가로등이 사흘째 꺼져 있습니다",
        "kind": "other",
        "category": "streetlight",
        "district": "해운대구",
        "channel": "online",
        "consent": {"sms": True},
    }


async def test_dashboards_and_alerts_query_only_metrics_the_system_exposes(tmp_path: Path) -> None:
    settings = Settings(
        backend="embedded", data_dir=tmp_path / "var", outbox_interval_seconds=0.1, timer_interval_seconds=0.1
    )
    app = build_app(settings)
    async with AsyncTestClient(app=app) as client:
        filed = await client.post(
            "/api/v1/complaints", json=complaint(), headers={"Idempotency-Key": str(uuid.uuid4())}
        )
        assert filed.status_code == 201, filed.text
        text = ""
        for _ in range(100):  # up to 10 s for the complaint to be published and consumed
            text = (await client.get("/metrics")).text
            samples, _ = exposed_metrics(text)
            if "minwon_bus_consumed_total" in samples:
                break
            await asyncio.sleep(0.1)
        assert "minwon_bus_published_total" in exposed_metrics(text)[0], "the complaint was not published"

    _, families = exposed_metrics(text)
    documented = METRICS_DOC.read_text("utf-8")
    undocumented = sorted(
        n
        for n in families
        if n.startswith("minwon_")
        and not n.endswith("_created")  # client's timestamps
        and f"`{n}`" not in documented
    )
    assert not undocumented, f"exposed but not in docs/metrics.md: {undocumented}"

    used = used_metrics()
    assert len(used) >= 20, sorted(used)  # the dashboards and rules really were read
    missing = missing_metrics(used, text)
    report = "\n".join(f"  {name}: used by {', '.join(sorted(where))}" for name, where in sorted(missing.items()))
    assert not missing, f"queried but not exposed by the running system:\n{report}"


def test_the_comparison_catches_a_missing_name_and_accepts_histogram_series() -> None:
    text = (
        "# HELP minwon_a_total a\n# TYPE minwon_a_total counter\nminwon_a_total 1.0\n"
        "# HELP minwon_h_seconds h\n# TYPE minwon_h_seconds histogram\n"
    )
    used = {
        "minwon_a_total": {"x"},
        "minwon_h_seconds_bucket": {"y"},
        "minwon_gone_total": {"z"},
        "minwon_a_total_bucket": {"w"},
    }
    assert set(missing_metrics(used, text)) == {"minwon_gone_total", "minwon_a_total_bucket"}

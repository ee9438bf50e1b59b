"""The web front alone (``minwon web``): its own process, calling the services' APIs at
MINWON_WEB_API_URL, as in a distributed deployment."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import STAFF_TOKEN, System, sign_in
from tests.e2e.harness import ROOT, free_port


@pytest.fixture
def web_alone(system: System, tmp_path: Any) -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "MINWON_WEB_API_URL": system.url,
        "MINWON_WEB_PORT": str(port),
        "MINWON_STAFF_TOKEN": STAFF_TOKEN,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "libs"), str(ROOT)]),
    }
    log = tmp_path / "web.log"
    proc = subprocess.Popen(
        [sys.executable, "-c", "from services.web.cli import serve; serve()"],
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(15)


def test_the_web_front_runs_alone_against_the_services_apis(system: System, web_alone: str, new_page: Any) -> None:
    receipt_no = system.file()["receipt_no"]
    department = system.assignment(receipt_no)["department"]
    page = new_page(base_url=web_alone)
    sign_in(page, f"{department}-lead")
    page.goto("/console/queue?mine=0")
    expect(page.locator(f"#queue tr[data-receipt='{receipt_no}']")).to_be_visible()
    assert "minwon_http_requests_total" in httpx.get(f"{web_alone}/metrics").text

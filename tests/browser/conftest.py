"""Browser tests: the whole system as a real process (`minwon run`, embedded storage) driven by
headless Chromium through Playwright. Debian's ``chromium`` at /usr/bin/chromium (the Makefile
installs it); Playwright's own browser download is never used.

Screenshots of each screen are written to docs/screenshots/.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import os
import re
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.harness import ROOT, MinwonProcess, wait_for
from tests.factories import staff_headers
from tests.integration.notification.helpers import SmtpServer

CHROMIUM = Path(os.environ.get("MINWON_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = ROOT / "docs" / "screenshots"
STAFF_TOKEN = staff_headers()["Authorization"].removeprefix("Bearer ")
PASSWORD = "minwon-dev"  # the development accounts in services/web/data/staff.json


@dataclass
class System:
    """The running system and a staff API client for set-up and checks."""

    proc: MinwonProcess

    @property
    def url(self) -> str:
        return self.proc.url

    def api(self, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {STAFF_TOKEN}", **kw.pop("headers", {})}
        return httpx.request(method, self.url + path, headers=headers, timeout=15, **kw)

    def json(self, method: str, path: str, **kw: Any) -> Any:
        response = self.api(method, path, **kw)
        assert response.status_code < 300, f"{method} {path}: {response.status_code} {response.text}"
        return response.json()

    def file(self, **overrides: Any) -> dict[str, Any]:
        """File a complaint through the API (as staff for staff channels)."""
        body = complaint(**overrides)
        return self.json("POST", "/api/v1/complaints/", json=body, headers={"Idempotency-Key": str(uuid.uuid4())})

    def assignment(self, receipt_no: str) -> dict[str, Any]:
        """Routing's assignment, once a handler is assigned."""

        def assigned() -> dict[str, Any] | None:
            r = self.api("GET", f"/api/v1/routing/assignments/{receipt_no}")
            doc = r.json() if r.status_code == 200 else None
            return doc if doc and doc.get("handler") and doc.get("department") else None

        return wait_for(assigned, timeout=30)

    def clock(self, receipt_no: str, predicate: Any = bool) -> dict[str, Any]:
        def ready() -> dict[str, Any] | None:
            r = self.api("GET", f"/api/v1/deadlines/{receipt_no}")
            doc = r.json() if r.status_code == 200 else None
            return doc if doc and predicate(doc) else None

        return wait_for(ready, timeout=30)


def complaint(**overrides: Any) -> dict[str, Any]:
    """A citizen's complaint as the intake API takes it (a factory: override what a test needs)."""
    body: dict[str, Any] = {
        "name": "김시민",
        "phone": "010-2345-6789",
        "address": "부산광역시 해운대구 우동 1",
        "title": "보도블록 파손",
        "body": f"집 앞 보도블록이 깨져 위험합니다 ({uuid.uuid4().hex[:8]})",
        "kind": "grievance",
        "category": "도로",
        "district": "해운대구",
        "channel": "online",
        "consent": {"sms": True},
    }
    body.update(overrides)
    return body


def days_ago(days: int) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).isoformat()


class Mailbox:
    """A local SMTP server (tests/integration/notification/helpers.py) on a thread of its own, and the
    letters' spool directory: what the citizen receives by e-mail and by post."""

    def __init__(self, spool: Path) -> None:
        self.spool = spool
        self.server = SmtpServer()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="browser-smtp", daemon=True)
        self.port = 0

    def start(self) -> None:
        self.thread.start()
        self.port = asyncio.run_coroutine_threadsafe(self.server.start(), self.loop).result(10)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    def env(self) -> dict[str, str]:
        return {
            "MINWON_NOTIFICATION_EMAIL_PROVIDER": "smtp",
            "MINWON_NOTIFICATION_SMTP_HOST": "127.0.0.1",
            "MINWON_NOTIFICATION_SMTP_PORT": str(self.port),
            "MINWON_NOTIFICATION_POST_PROVIDER": "spool",
            "MINWON_NOTIFICATION_SPOOL_DIR": str(self.spool),
        }

    def mails(self, to: str, containing: str) -> list[str]:
        """The plain-text bodies of the e-mails to ``to`` that contain ``containing``."""
        out = []
        for m in list(self.server.messages):
            if any(to in r for r in m["rcpt"]):
                body = email.message_from_string(m["data"], policy=email.policy.default).get_body(("plain",))
                text = body.get_content() if body else ""
                if containing in text:
                    out.append(text)
        return out

    def letters(self, containing: str) -> list[str]:
        """The text of the spooled letter PDFs that contain ``containing`` (spaces ignored)."""
        from pypdf import PdfReader

        out = []
        for path in sorted(self.spool.glob("*.pdf")):
            text = "\n".join(page.extract_text() or "" for page in PdfReader(path).pages)
            if flat(containing) in flat(text):
                out.append(text)
        return out


def flat(text: str) -> str:
    return "".join(text.split())


@pytest.fixture(scope="session")
def mailbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mailbox]:
    box = Mailbox(tmp_path_factory.mktemp("browser-letters"))
    box.start()
    try:
        yield box
    finally:
        box.stop()


@pytest.fixture(scope="session")
def system(tmp_path_factory: pytest.TempPathFactory, mailbox: Mailbox) -> Iterator[System]:
    proc = MinwonProcess(
        tmp_path_factory.mktemp("browser-var"),
        env={
            "MINWON_STAFF_TOKEN": STAFF_TOKEN,
            "MINWON_SURVEY_INVITE_DELAY_SECONDS": "0",  # the survey invitation goes out at closure
            "MINWON_WEB_SESSION_SECRET": uuid.uuid4().hex,
            **mailbox.env(),
        },
    )
    proc.start()
    try:
        yield System(proc)
    finally:
        proc.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: apt-get install -y chromium (make test installs it)"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def new_page(browser: Any, system: System) -> Iterator[Any]:
    """``new_page(**context_options)``: a page in a fresh browser context (its own cookies)."""
    contexts: list[Any] = []

    def make(**options: Any) -> Any:
        options.setdefault("viewport", {"width": 1280, "height": 900})
        options.setdefault("locale", "ko-KR")
        options.setdefault("timezone_id", "Asia/Seoul")
        options.setdefault("base_url", system.url)
        context = browser.new_context(**options)
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def shot(page: Any, name: str) -> Path:
    """A full-page screenshot in docs/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 5_000
    return path


def sign_in(page: Any, staff_id: str, *, password: str = PASSWORD) -> None:
    page.goto("/console/login")
    page.get_by_label(re.compile("직원 아이디|Staff id")).fill(staff_id)
    page.get_by_label(re.compile("비밀번호|Password")).fill(password)
    page.get_by_role("button", name=re.compile("로그인|Sign in")).click()
    page.wait_for_url(re.compile(r".*/console/(?!login).*"))


def other_department(code: str) -> str:
    return "traffic" if code != "traffic" else "road"

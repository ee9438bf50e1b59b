"""The built-in staff accounts of ``minwon run`` without an identity provider: the sample accounts
loaded on a first start, ``minwon staff add|disable|list`` against the running system's store, sign-in
with an added account, and a disabled account refused at sign-in and signed out of its session."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import closing

import httpx
import pytest

from tests.e2e.harness import ROOT, MinwonProcess, wait_for

SAMPLE_PASSWORD = "minwon-dev"  # services/web/data/staff.json: for trying the system out


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MinwonProcess]:
    proc = MinwonProcess(tmp_path_factory.mktemp("staff"))
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()


def staff_cli(system: MinwonProcess, *args: str, password: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MINWON_DATA_DIR": str(system.data_dir), "MINWON_BACKEND": "embedded"}
    return subprocess.run(
        [sys.executable, "-m", "apps.cli", "staff", *args],
        cwd=ROOT,
        env=env,
        text=True,
        capture_output=True,
        input=password + "\n" if password is not None else None,
        timeout=60,
    )


def sign_in(system: MinwonProcess, staff_id: str, password: str) -> tuple[httpx.Client, httpx.Response]:
    browser = httpx.Client(base_url=system.url, timeout=15)
    form = browser.get("/console/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf, form.text[:300]
    posted = browser.post(
        "/console/login",
        data={"csrf": csrf.group(1), "next": "/console/queue", "staff_id": staff_id, "password": password},
    )
    return browser, posted


def test_sample_accounts_sign_in_on_a_first_start(system: MinwonProcess) -> None:
    browser, posted = sign_in(system, "complaint-office-01", SAMPLE_PASSWORD)
    with closing(browser):
        assert posted.status_code == 303 and posted.headers["location"] == "/console/queue"
        assert browser.get("/console/queue").status_code == 200
    listed = staff_cli(system, "list")
    assert listed.returncode == 0, listed.stderr
    accounts = [json.loads(line) for line in listed.stdout.splitlines()]
    assert {"complaint-office-01", "road-lead"} <= {a["id"] for a in accounts}
    assert "password_hash" not in listed.stdout


def test_added_account_signs_in_and_a_disabled_one_is_refused_and_signed_out(system: MinwonProcess) -> None:
    staff_id, password = f"road-{uuid.uuid4().hex[:6]}", "a-long-test-password"
    added = staff_cli(
        system,
        "add",
        "--id",
        staff_id,
        "--name",
        "박도로",
        "--role",
        "handler",
        "--department",
        "road",
        "--password-stdin",
        password=password,
    )
    assert added.returncode == 0, added.stderr
    assert {"id": staff_id, "name": "박도로", "role": "handler", "department": "road", "disabled": False} in [
        json.loads(line) for line in staff_cli(system, "list").stdout.splitlines()
    ]

    wrong, refused = sign_in(system, staff_id, "not-the-password")
    wrong.close()
    assert refused.status_code == 401

    browser, posted = sign_in(system, staff_id, password)
    with closing(browser):
        assert posted.status_code == 303
        queue = browser.get("/console/queue")
        assert queue.status_code == 200 and "박도로" in queue.text

        disabled = staff_cli(system, "disable", staff_id)
        assert disabled.returncode == 0, disabled.stderr
        signed_out = wait_for(lambda: (r := browser.get("/console/queue")).status_code == 303 and r, timeout=10)
        assert signed_out.headers["location"].startswith("/console/login")

    again, refused = sign_in(system, staff_id, password)
    again.close()
    assert refused.status_code == 401
    assert staff_cli(system, "disable", "nobody-" + staff_id).returncode == 1


def test_staff_add_checks_the_role_department_and_password(system: MinwonProcess) -> None:
    no_department = staff_cli(
        system,
        "add",
        "--id",
        "x-1",
        "--name",
        "x",
        "--role",
        "handler",
        "--password-stdin",
        password="a-long-test-password",
    )
    assert no_department.returncode == 2 and "department" in no_department.stderr
    unknown_role = staff_cli(
        system,
        "add",
        "--id",
        "x-2",
        "--name",
        "x",
        "--role",
        "mayor",
        "--password-stdin",
        password="a-long-test-password",
    )
    assert unknown_role.returncode == 2 and "role" in unknown_role.stderr
    short = staff_cli(
        system, "add", "--id", "x-3", "--name", "x", "--role", "admin", "--password-stdin", password="short"
    )
    assert short.returncode == 2

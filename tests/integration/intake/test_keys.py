"""Key rotation: `reseal` seals every complaint's personal data and answer again under the current key,
resumes after an interruption, and afterwards the old key can be removed and everything still opens."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

from minwon.outbox import Relay
from services.intake.bootstrap import build
from tests.unit.intake.test_domain import filing

NEW_KEY = base64.b64encode(b"n" * 32).decode()
ROOT = Path(__file__).resolve().parents[3]
OFFICE = {"id": "office-kim", "name": "김민원", "roles": ["complaint_office"]}


class Interrupted(Exception):
    pass


async def test_reseal_rotates_every_value_resumes_and_lets_the_old_key_go(backend) -> None:
    store, bus = backend.store("intake"), backend.bus()
    old_settings = backend.settings()
    before = build(old_settings, store=store, relay=Relay(bus))
    filed = []
    for i in range(5):
        complaint, _ = await before.file_complaint(filing(title=f"가로등 {i}", body=f"비밀문구 {i}"))
        filed.append(complaint.receipt_no)
    old_id = before.pii.key_id
    for r in filed:
        assert (await store.collection("complaints").get(r))["sealed"].startswith(f"{old_id}:")

    rotated = old_settings.model_copy(
        update={"pii_key": NEW_KEY, "pii_key_id": "k2", "pii_old_keys": f"{old_id}={old_settings.pii_key}"}
    )
    during = build(rotated, store=store, relay=Relay(bus))
    pages: list[dict] = []

    def stop_after_first_page(state: dict) -> None:
        pages.append(state)
        raise Interrupted()

    try:
        await during.reseal(batch=2, progress=stop_after_first_page)
    except Interrupted:
        pass
    assert pages[0]["checked"] == 2 and not pages[0]["finished"]
    done = await during.reseal(batch=2)
    assert done["finished"] and done["checked"] >= 5  # resumed after the first page, not from the start
    assert done["checked"] - pages[0]["checked"] >= 3

    only_new = rotated.model_copy(update={"pii_old_keys": ""})
    after = build(only_new, store=store, relay=Relay(bus))
    for i, receipt_no in enumerate(filed):
        doc = await store.collection("complaints").get(receipt_no)
        assert doc["sealed"].startswith("k2:")
        personal = await after.personal_data(receipt_no, by=OFFICE, purpose="키 교체 확인")
        assert personal["body"] == f"비밀문구 {i}" and personal["name"] == "김민원"


def test_the_command_reseals_an_embedded_data_directory(tmp_path: Path) -> None:
    env = {**os.environ, "MINWON_BACKEND": "embedded", "MINWON_DATA_DIR": str(tmp_path)}

    def minwon(*args: str, **extra: str) -> dict:
        done = subprocess.run(
            [sys.executable, "-m", "apps.cli", *args],
            cwd=ROOT,
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout.strip().splitlines()[-1])

    empty = minwon("keys", "status")
    assert empty == {"key_id": "k1", "checked": 0, "under_old_keys": 0}
    # one complaint under k1, through the real command-line entry's store
    script = (
        "import asyncio,sys;from minwon.settings import Settings;from minwon.host import build_infrastructure;"
        "from minwon.outbox import Relay;from services.intake.bootstrap import build;"
        "sys.path.insert(0,'.');from tests.unit.intake.test_domain import filing\n"
        "async def main():\n s=Settings();i=build_infrastructure(s,['intake'])\n"
        " x=build(s,store=i.stores['intake'],relay=Relay(i.bus));await x.store.setup()\n"
        " await x.file_complaint(filing());await i.close()\nasyncio.run(main())"
    )
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, check=True, timeout=120)
    rotation = {
        "MINWON_PII_KEY": NEW_KEY,
        "MINWON_PII_KEY_ID": "k2",
        "MINWON_PII_OLD_KEYS": "k1=" + __import__("minwon.settings").settings.DEV_KEY,
    }
    assert minwon("keys", "status", **rotation)["under_old_keys"] == 1
    assert minwon("keys", "reseal", "--quiet", **rotation)["resealed"] == 1
    assert minwon("keys", "status", **rotation)["under_old_keys"] == 0

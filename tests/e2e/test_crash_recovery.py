"""Kill `minwon run` with SIGKILL between a POST and its notification; after a restart the
notification is delivered exactly once, and every acknowledged complaint is still there."""

from __future__ import annotations

import time

import pytest

from tests.e2e.harness import MinwonProcess, wait_for
from tests.factories import STAFF, complaint_payload

QUICK = {
    # deliver at any hour, and retry a send a crash interrupted after 2 s instead of 5 min
    "MINWON_NOTIFICATION_QUIET_ON_NON_WORKING_DAYS": "false",
    "MINWON_NOTIFICATION_QUIET_START": "00:00:00",
    "MINWON_NOTIFICATION_QUIET_END": "00:00:00",
    "MINWON_NOTIFICATION_SENDING_LEASE_SECONDS": "2",
    "MINWON_NOTIFICATION_DELIVER_INTERVAL_SECONDS": "0.5",
}


def _notices(proc: MinwonProcess, receipt: str, template: str) -> list[dict]:
    r = proc.get(f"/api/v1/notifications?receipt_no={receipt}", headers=STAFF)
    assert r.status_code == 200, r.text
    return [n for n in r.json()["items"] if n["template"] == template]


@pytest.mark.parametrize("delay", [0.0, 0.05, 0.2, 0.6])
def test_sigkill_between_post_and_notification_delivers_exactly_once(tmp_path, delay: float) -> None:
    proc = MinwonProcess(tmp_path / "var", env=QUICK)
    proc.data_dir.mkdir(parents=True)
    proc.start()
    try:
        receipts, payloads = [], []
        for _ in range(3):
            payload = complaint_payload(consent={"sms": True})
            r = proc.post("/api/v1/complaints", json=payload)
            assert r.status_code == 201, r.text
            receipts.append(r.json()["receipt_no"])
            payloads.append(payload)
        time.sleep(delay)
        proc.kill()

        proc.start()
        for receipt in receipts:
            assert proc.get(f"/api/v1/complaints/{receipt}", headers=STAFF).status_code == 200
            wait_for(
                lambda receipt=receipt: [
                    n for n in _notices(proc, receipt, "citizen.receipt") if n["status"] == "sent"
                ],
                timeout=60,
            )
        time.sleep(2)  # anything still in flight would show up now
        for receipt in receipts:
            notices = _notices(proc, receipt, "citizen.receipt")
            assert len(notices) == 1, notices
            assert len(notices[0]["deliveries"]) == 1, notices[0]["deliveries"]
    finally:
        proc.stop()

    # the logs of both runs name receipts, never the people or what they wrote
    logs = "".join(p.read_text(errors="replace") for p in proc.data_dir.glob("minwon-*.log"))
    assert receipts[0] in logs
    for payload in payloads:
        for key in ("name", "phone", "email", "address", "title", "body"):
            assert payload[key] not in logs, key

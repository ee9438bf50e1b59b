"""``minwon backup`` while ``minwon run`` is taking complaints, then ``minwon restore`` into an empty data
directory: the restored system comes up with every complaint, and each restored complaint's downstream state
(its legal deadline) follows, so the files were copied as one snapshot.

Embedded mode only (the distributed mode's MongoDB procedure is documented in docs/operations.md).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import httpx

from tests.e2e.harness import ROOT, MinwonProcess, wait_for
from tests.factories import STAFF, complaint_payload


def minwon(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    """The command as an operator types it, with ``MINWON_DATA_DIR`` set."""
    env = {**os.environ, "MINWON_DATA_DIR": str(data_dir), "MINWON_BACKEND": "embedded"}
    return subprocess.run(
        [sys.executable, "-m", "apps.cli", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def file_complaint(proc: MinwonProcess) -> tuple[str, str]:
    r = proc.post("/api/v1/complaints", json=complaint_payload())
    assert r.status_code == 201, r.text
    return r.json()["receipt_no"], r.json()["check_code"]


def test_backup_while_running_then_restore_into_an_empty_directory(tmp_path: Path) -> None:
    live = MinwonProcess(tmp_path / "live")
    live.start()
    filed: list[tuple[str, str]] = []
    during: list[str] = []
    try:
        filed = [file_complaint(live) for _ in range(20)]
        wait_for(
            lambda: all(live.get(f"/api/v1/deadlines/{r}", headers=STAFF).status_code == 200 for r, _ in filed),
            timeout=60,
        )

        # complaints keep arriving while the backup runs
        stop = threading.Event()

        def keep_filing() -> None:
            while not stop.is_set():
                try:
                    during.append(file_complaint(live)[0])
                except (AssertionError, httpx.HTTPError):
                    pass

        writer = threading.Thread(target=keep_filing)
        writer.start()
        try:
            done = minwon("backup", str(tmp_path / "backup"), data_dir=live.data_dir)
        finally:
            stop.set()
            writer.join(30)
        assert done.returncode == 0, done.stderr
        assert live.alive, "the backup must not disturb the running system"
    finally:
        live.stop()

    manifest = json.loads((tmp_path / "backup/manifest.json").read_text("utf-8"))
    names = {f["name"] for f in manifest["files"]}
    assert {
        "events.db",
        "intake.db",
        "routing.db",
        "deadline.db",
        "notification.db",
        "compensation.db",
        "survey.db",
    } <= names, names
    assert manifest["minwon_version"] and manifest["created"]
    log = next(f for f in manifest["files"] if f["name"] == "events.db")
    assert log["tables"]["log"] >= 20
    assert not list((tmp_path / "backup").glob("*-wal")), "each copied file stands alone"

    # a non-empty data directory is refused; a damaged backup is refused
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "note.txt").write_text("in use")
    refused = minwon("restore", str(tmp_path / "backup"), data_dir=occupied)
    assert refused.returncode == 1 and "not empty" in refused.stderr
    assert [p.name for p in occupied.iterdir()] == ["note.txt"]

    restored = MinwonProcess(tmp_path / "restored")
    done = minwon("restore", str(tmp_path / "backup"), data_dir=restored.data_dir)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in restored.data_dir.iterdir()) == sorted(names)

    restored.start()
    try:
        for receipt, code in filed:
            r = restored.get(f"/api/v1/complaints/{receipt}", headers=STAFF)
            assert r.status_code == 200, (receipt, r.text)
            assert r.json()["receipt_no"] == receipt
            citizen = restored.get(f"/api/v1/complaints/{receipt}", params={"code": code})
            assert citizen.status_code == 200, (receipt, citizen.text)
            assert restored.get(f"/api/v1/deadlines/{receipt}", headers=STAFF).status_code == 200
        # complaints filed during the backup: the ones the copy holds get their deadline too (an intake copy
        # newer than the event log would leave them without one forever)
        kept = [r for r in during if restored.get(f"/api/v1/complaints/{r}", headers=STAFF).status_code == 200]
        assert during and kept, (len(during), len(kept))  # the copy was taken while complaints arrived
        for receipt in kept:
            wait_for(
                lambda receipt=receipt: restored.get(f"/api/v1/deadlines/{receipt}", headers=STAFF).status_code == 200,
                timeout=60,
            )
        # and the restored system takes new complaints
        receipt, _ = file_complaint(restored)
        assert restored.get(f"/api/v1/complaints/{receipt}", headers=STAFF).status_code == 200
    finally:
        restored.stop()


def test_restore_refuses_a_damaged_backup_and_force_replaces_the_files(tmp_path: Path) -> None:
    import sqlite3

    data = tmp_path / "data"
    data.mkdir()
    for name in ("events.db", "intake.db"):
        conn = sqlite3.connect(data / name)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE t (x)")
        conn.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(5)])
        conn.commit()
        conn.close()
    blob = data / "attachments" / "ab" / "abcdef0123"  # an attachment as intake keeps it (already encrypted)
    blob.parent.mkdir(parents=True)
    blob.write_bytes(b"a1:sealed bytes of a photo")
    assert minwon("backup", str(tmp_path / "b"), data_dir=data).returncode == 0
    again = minwon("backup", str(tmp_path / "b"), data_dir=data)
    assert again.returncode == 1 and "not empty" in again.stderr

    # --force over an existing data directory puts the backup's rows back
    conn = sqlite3.connect(data / "intake.db")
    conn.execute("DELETE FROM t")
    conn.commit()
    conn.close()
    blob.write_bytes(b"changed after the backup")
    done = minwon("restore", str(tmp_path / "b"), "--force", data_dir=data)
    assert done.returncode == 0, done.stderr
    assert sqlite3.connect(data / "intake.db").execute("SELECT count(*) FROM t").fetchone()[0] == 5
    assert blob.read_bytes() == b"a1:sealed bytes of a photo"
    fresh = minwon("restore", str(tmp_path / "b"), data_dir=tmp_path / "fresh")
    assert fresh.returncode == 0, fresh.stderr
    assert (tmp_path / "fresh/attachments/ab/abcdef0123").read_bytes() == b"a1:sealed bytes of a photo"

    # a damaged attachment is refused like a damaged database
    (tmp_path / "b/attachments/ab/abcdef0123").write_bytes(b"a1:sealed bytes of a phot0")
    refused = minwon("restore", str(tmp_path / "b"), data_dir=tmp_path / "empty2")
    assert refused.returncode == 1 and "attachments/ab/abcdef0123" in refused.stderr
    (tmp_path / "b/attachments/ab/abcdef0123").write_bytes(b"a1:sealed bytes of a photo")

    # one changed byte: refused before anything is copied
    damaged = tmp_path / "b/intake.db"
    raw = bytearray(damaged.read_bytes())
    raw[-1] ^= 0xFF
    damaged.write_bytes(bytes(raw))
    refused = minwon("restore", str(tmp_path / "b"), data_dir=tmp_path / "empty")
    assert refused.returncode == 1 and "checksum" in refused.stderr
    assert not (tmp_path / "empty").exists() or not any((tmp_path / "empty").iterdir())

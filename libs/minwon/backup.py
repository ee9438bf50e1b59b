"""``minwon backup <dir>`` and ``minwon restore <dir>``: the embedded mode's SQLite files.

The data directory (``MINWON_DATA_DIR``) holds the event log ``events.db``, one ``<service>.db`` per
service and the web front's ``staff.db`` (every ``*.db`` there is taken), each in WAL mode. A backup copies
each file with SQLite's online backup API while ``minwon run`` keeps working, and writes
``manifest.json`` (files, sizes, SHA-256, row counts of every table, time, minwon version).

One snapshot for all files: the backup first takes the event log's write lock (``BEGIN IMMEDIATE``: nothing
is appended and no consumer commits a position for those milliseconds), pins a read snapshot of every
service file, then pins the event log's snapshot and lets go. So every event an outbox marked published is in
the copied log, and every position the log has committed has its handler's effect in the copied service
file. A service file may be a little ahead of the log (a handler finished while the lock was held): after a
restore its event is delivered again and dropped as seen, and an unpublished outbox is published again, as
after any crash.

The files under ``attachments/`` (intake's attachments, each already encrypted) are copied after the
snapshot and listed in the manifest with their checksums; restore checks and copies them too.

Restore refuses a data directory that holds anything unless ``--force`` (which replaces the ``*.db`` files
and removes their ``-wal``/``-shm``); it checks the manifest's sizes and checksums before copying and each
restored file's integrity and row counts after. Stop ``minwon run`` before restoring. docs/operations.md,
"Backup and restore".
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sqlite3
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from minwon.settings import Settings

COMMANDS = ("backup", "restore")
MANIFEST = "manifest.json"
FORMAT = 1
EVENT_LOG = "events.db"
LOCK_TIMEOUT_SECONDS = 30.0
BLOB_DIRS = ("attachments",)
"""Directories of the data directory that hold files rather than databases (intake's encrypted attachments)."""


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why."""


# ---------------------------------------------------------------- helpers


def _version() -> str:
    try:
        return metadata.version("minwon")
    except metadata.PackageNotFoundError:
        return "unknown"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def row_counts(conn: sqlite3.Connection) -> dict[str, int]:
    """Rows of every table of a database (SQLite's own tables left out)."""
    names = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
    ]
    return {name: int(conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]) for name in names}


def database_files(data_dir: Path) -> list[Path]:
    """The SQLite files of a data directory: the event log first, then the others by name."""
    files = sorted(p for p in data_dir.glob("*.db") if p.is_file())
    return sorted(files, key=lambda p: (p.name != EVENT_LOG, p.name))


def _open(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), isolation_level=None, timeout=LOCK_TIMEOUT_SECONDS, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout={int(LOCK_TIMEOUT_SECONDS * 1000)}")
    return conn


@contextmanager
def _pinned(files: list[Path]) -> Iterator[dict[Path, sqlite3.Connection]]:
    """A read snapshot of every file, taken as one point in time (see the module's docstring)."""
    with ExitStack() as stack:
        conns: dict[Path, sqlite3.Connection] = {}
        for path in files:
            conn = _open(path)
            stack.callback(conn.close)
            conns[path] = conn
        log = next((p for p in files if p.name == EVENT_LOG), None)
        lock = None
        if log is not None:
            lock = _open(log)
            stack.callback(lock.close)
            lock.execute("BEGIN IMMEDIATE")  # no event appended, no position committed, until ROLLBACK
        try:
            for path in sorted(files, key=lambda p: p.name == EVENT_LOG):  # the log's snapshot last
                conns[path].execute("BEGIN")
                conns[path].execute("SELECT count(*) FROM sqlite_master").fetchone()  # the snapshot starts here
        finally:
            if lock is not None:
                lock.execute("ROLLBACK")
        try:
            yield conns
        finally:
            for conn in conns.values():
                if conn.in_transaction:
                    conn.execute("ROLLBACK")


# ---------------------------------------------------------------- backup


def backup(data_dir: Path, target: Path, *, now: datetime | None = None) -> dict[str, Any]:
    """Copy every ``*.db`` of ``data_dir`` into ``target`` (new or empty) and write the manifest."""
    files = database_files(data_dir)
    if not files:
        raise BackupError(f"no *.db file in {data_dir} (is MINWON_DATA_DIR right?)")
    if target.exists() and any(target.iterdir()):
        raise BackupError(f"{target} is not empty; back up into a new directory")
    target.mkdir(parents=True, exist_ok=True)
    entries = []
    with _pinned(files) as conns:
        for path, source in conns.items():
            partial = target / f"{path.name}.partial"
            dest = sqlite3.connect(str(partial))
            try:
                source.backup(dest)
                tables = row_counts(dest)
                dest.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
            finally:
                dest.close()
            os.replace(partial, target / path.name)
            entries.append(
                {
                    "name": path.name,
                    "bytes": (target / path.name).stat().st_size,
                    "sha256": _sha256(target / path.name),
                    "tables": tables,
                }
            )
    manifest = {
        "format": FORMAT,
        "minwon_version": _version(),
        "created": (now or datetime.now(UTC)).isoformat(timespec="seconds"),
        "source": str(data_dir.resolve()),
        "files": entries,
        # after the snapshot: every file a copied record names was written before it (files are written, then
        # recorded), so the copy holds all of them (and perhaps a few not yet recorded)
        "blobs": _copy_blobs(data_dir, target),
    }
    (target / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", "utf-8")
    return manifest


def _blob_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith("."))


def _copy_blobs(data_dir: Path, target: Path) -> list[dict[str, Any]]:
    """Copy the file directories (:data:`BLOB_DIRS`, e.g. intake's encrypted attachments) and list each file."""
    entries = []
    for name in BLOB_DIRS:
        for path in _blob_files(data_dir / name):
            relative = path.relative_to(data_dir)
            (target / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target / relative)
            entries.append(
                {"name": relative.as_posix(), "bytes": path.stat().st_size, "sha256": _sha256(target / relative)}
            )
    return entries


def _check_blob(source: Path, entry: dict[str, Any]) -> Path:
    name = str(entry.get("name", ""))
    parts = Path(name).parts
    if not parts or parts[0] not in BLOB_DIRS or ".." in parts or Path(name).is_absolute():
        raise BackupError(f"{MANIFEST}: bad file name {name!r}")
    path = source / name
    if not path.is_file():
        raise BackupError(f"{name} is listed in the manifest but missing")
    if path.stat().st_size != entry["bytes"] or _sha256(path) != entry["sha256"]:
        raise BackupError(f"{name}: size or checksum differs from the manifest (damaged or changed)")
    return path


# ---------------------------------------------------------------- restore


def verify(source: Path) -> dict[str, Any]:
    """The manifest of a backup directory, after checking each file's presence, size and checksum."""
    try:
        manifest = json.loads((source / MANIFEST).read_text("utf-8"))
    except FileNotFoundError as exc:
        raise BackupError(f"{source} has no {MANIFEST}: not a minwon backup") from exc
    except ValueError as exc:
        raise BackupError(f"{source / MANIFEST} is not valid JSON: {exc}") from exc
    if manifest.get("format") != FORMAT or not isinstance(manifest.get("files"), list) or not manifest["files"]:
        raise BackupError(f"{source / MANIFEST}: unknown format or no files")
    for entry in manifest["files"]:
        name = str(entry.get("name", ""))
        if not name.endswith(".db") or Path(name).name != name:
            raise BackupError(f"{MANIFEST}: bad file name {name!r}")
        path = source / name
        if not path.is_file():
            raise BackupError(f"{name} is listed in the manifest but missing")
        if path.stat().st_size != entry["bytes"]:
            raise BackupError(f"{name}: {path.stat().st_size} bytes, the manifest says {entry['bytes']}")
        if _sha256(path) != entry["sha256"]:
            raise BackupError(f"{name}: checksum differs from the manifest (damaged or changed)")
    for entry in manifest.get("blobs", []):
        _check_blob(source, entry)
    return manifest


def restore(source: Path, data_dir: Path, *, force: bool = False) -> dict[str, Any]:
    """Copy a verified backup into ``data_dir`` (empty, or with ``force``) and check what was restored."""
    manifest = verify(source)
    if data_dir.exists() and any(data_dir.iterdir()) and not force:
        raise BackupError(
            f"{data_dir} is not empty; restore into an empty data directory, or pass --force "
            "(with minwon stopped) to replace its database files"
        )
    data_dir.mkdir(parents=True, exist_ok=True)
    if force:
        for old in database_files(data_dir):
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{old}{suffix}").unlink(missing_ok=True)
    for entry in manifest["files"]:
        name = entry["name"]
        partial = data_dir / f"{name}.partial"
        shutil.copyfile(source / name, partial)
        conn = sqlite3.connect(str(partial))
        try:
            check = conn.execute("PRAGMA integrity_check").fetchone()[0]
            counts = row_counts(conn)
        finally:
            conn.close()
        if check != "ok":
            partial.unlink()
            raise BackupError(f"{name}: integrity check failed after copying: {check}")
        if counts != entry["tables"]:
            partial.unlink()
            raise BackupError(f"{name}: row counts {counts} differ from the manifest {entry['tables']}")
        for suffix in ("-wal", "-shm", "-journal"):
            Path(f"{data_dir / name}{suffix}").unlink(missing_ok=True)
        os.replace(partial, data_dir / name)
    if force:
        for name in BLOB_DIRS:
            shutil.rmtree(data_dir / name, ignore_errors=True)
    for entry in manifest.get("blobs", []):
        dest = data_dir / entry["name"]
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / entry["name"], dest)
    return manifest


# ---------------------------------------------------------------- the command


def register(sub: Any) -> None:
    b = sub.add_parser("backup", help="copy the embedded mode's SQLite files (safe while minwon run runs)")
    b.add_argument("dir", type=Path, help="a new or empty directory for the copy and its manifest.json")
    b.add_argument("--data-dir", type=Path, help="the data directory to back up (default: MINWON_DATA_DIR)")
    r = sub.add_parser("restore", help="copy a backup into an empty data directory (minwon stopped)")
    r.add_argument("dir", type=Path, help="a directory written by minwon backup")
    r.add_argument("--data-dir", type=Path, help="where to restore (default: MINWON_DATA_DIR)")
    r.add_argument("--force", action="store_true", help="replace the database files of a non-empty data directory")


def _summary(manifest: dict[str, Any]) -> str:
    return ", ".join(f"{f['name']} ({f['bytes']} bytes, {sum(f['tables'].values())} rows)" for f in manifest["files"])


def main(args: argparse.Namespace) -> int:
    data_dir = args.data_dir or Settings().data_dir
    try:
        if args.command == "backup":
            manifest = backup(data_dir, args.dir)
            print(f"backed up {data_dir} to {args.dir}: {_summary(manifest)}")
        else:
            manifest = restore(args.dir, data_dir, force=args.force)
            print(
                f"restored {args.dir} (taken {manifest['created']}, minwon {manifest['minwon_version']}) "
                f"into {data_dir}: {_summary(manifest)}"
            )
    except (BackupError, sqlite3.Error, OSError) as error:
        print(f"minwon {args.command}: {error}", file=sys.stderr)
        return 1
    return 0

"""The built-in staff accounts (내부 계정), for a county that runs no identity provider.

Kept in the ``staff`` collection of the web front's own store: ``<data_dir>/staff.db``
(SQLite) on the embedded backend, the ``<prefix>web`` database (MongoDB) on the distributed
one. One document per official: ``id``, ``name``, ``role``, ``department``, ``password_hash``
(scrypt, :func:`services.web.auth.hash_password`), ``disabled``. Managed with ``minwon staff
add|disable|list``. On the first start with no account at all, the sample accounts of
``MINWON_WEB_STAFF_FILE`` are loaded, so ``make run`` works out of the box (their password,
``minwon-dev``, is for trying the system out: disable them before real use; production never
loads them).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from minwon.docstore import Doc, DocumentStore, MongoStore, SqliteStore
from minwon.settings import Settings
from services.web.access import Staff

COLLECTION = "staff"


def open_store(settings: Settings) -> DocumentStore:
    """The web front's store (opened, not yet used: SQLite creates its file, MongoDB connects lazily)."""
    if settings.backend == "distributed":
        return MongoStore(settings.mongodb_uri, settings.database("web"))
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return SqliteStore(settings.data_dir / "staff.db")


def _now() -> str:
    return datetime.now(UTC).isoformat()


class Accounts:
    """The ``staff`` collection: add, disable, list, and the first-start sample load."""

    def __init__(self, store: DocumentStore) -> None:
        self.store = store
        self.coll = store.collection(COLLECTION)

    async def add(self, *, id: str, name: str, role: str, department: str | None, password_hash: str) -> Doc:
        """A new account, or a replaced one (a new password, role or department; enabled again)."""
        Staff(id=id, name=name, role=role, department=department or None)  # the same checks as sign-in
        current = await self.coll.get(id)
        doc: Doc = {
            "_id": id,
            "id": id,
            "name": name,
            "role": role,
            "department": department or None,
            "password_hash": password_hash,
            "disabled": False,
            "updated_at": _now(),
        }
        if current is None:
            if await self.coll.create({**doc, "created_at": doc["updated_at"]}):
                return doc
            current = await self.coll.get(id)
        await self.coll.put({**(current or {}), **doc})
        return doc

    async def disable(self, *, id: str) -> bool:
        current = await self.coll.get(id)
        if current is None:
            return False
        await self.coll.put({**current, "disabled": True, "updated_at": _now()})
        return True

    async def list(self) -> list[Doc]:
        return sorted(await self.coll.find(), key=lambda d: str(d.get("id")))

    async def load_samples(self, path: Path) -> int:
        """Load the sample accounts of ``path`` when there is no account yet; how many were loaded."""
        if await self.coll.count() > 0:
            return 0
        records: list[dict[str, Any]] = json.loads(path.read_text("utf-8"))["staff"]
        for rec in records:
            await self.coll.put(
                {
                    "_id": rec["id"],
                    "id": rec["id"],
                    "name": rec["name"],
                    "role": rec["role"],
                    "department": rec.get("department") or None,
                    "password_hash": rec["password_hash"],
                    "disabled": False,
                    "sample": True,
                    "created_at": _now(),
                }
            )
        return len(records)

"""Where attachments are kept: intake's own store, the bytes already encrypted by the caller.

- :class:`Blobs` is the port for the bytes, by id. :class:`GridFsBlobs` keeps them in a GridFS
  bucket of intake's MongoDB database (distributed); :class:`FileBlobs` as files under the data
  directory the embedded store uses (``var/attachments/``).
- :class:`AttachmentStore` keeps, per complaint, the list of its attachments (one document read
  by ``_id``, written by compare-and-set, so a limit on the count holds across replicas) beside
  the bytes.
"""

from __future__ import annotations

import asyncio
import builtins
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from minwon.docstore import DocumentStore
from minwon.errors import TransientError

_ID = re.compile(r"^[a-z0-9][a-z0-9.\-]{7,80}$")


def _checked(id: str) -> str:
    if not _ID.match(id):
        raise ValueError(f"not an attachment id: {id!r}")
    return id


class Blobs(Protocol):
    async def put(self, id: str, data: bytes) -> None: ...
    async def get(self, id: str) -> bytes | None: ...
    async def delete(self, id: str) -> bool: ...
    async def close(self) -> None: ...


class FileBlobs:
    """One file per blob under ``root`` (written to a temporary name, synced, then renamed)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, id: str) -> Path:
        _checked(id)
        return self.root / id[:2] / id

    async def put(self, id: str, data: bytes) -> None:
        await asyncio.to_thread(self._write, self._path(id), data)

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)

    async def get(self, id: str) -> bytes | None:
        path = self._path(id)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            return None

    async def delete(self, id: str) -> bool:
        try:
            await asyncio.to_thread(self._path(id).unlink)
        except FileNotFoundError:
            return False
        return True

    async def close(self) -> None:
        return None


class GridFsBlobs:
    """A GridFS bucket (``attachments.files`` / ``attachments.chunks``) in intake's database. The
    client is made on first use (importing or building this connects to nothing)."""

    def __init__(self, uri: str, database: str, *, bucket: str = "attachments", chunk_bytes: int = 255 * 1024) -> None:
        self.uri, self.database, self.bucket_name, self.chunk_bytes = uri, database, bucket, chunk_bytes
        self._client: Any = None
        self._bucket: Any = None

    def _gridfs(self) -> Any:
        if self._bucket is None:
            from gridfs import AsyncGridFSBucket
            from pymongo import AsyncMongoClient

            self._client = AsyncMongoClient(self.uri, serverSelectionTimeoutMS=5000)
            self._bucket = AsyncGridFSBucket(
                self._client[self.database], bucket_name=self.bucket_name, chunk_size_bytes=self.chunk_bytes
            )
        return self._bucket

    async def put(self, id: str, data: bytes) -> None:
        from gridfs.errors import FileExists

        bucket = self._gridfs()
        try:
            await bucket.upload_from_stream_with_id(_checked(id), id, data)
        except FileExists:  # a retried write of the same id: replace it whole
            await bucket.delete(id)
            await bucket.upload_from_stream_with_id(id, id, data)

    async def get(self, id: str) -> bytes | None:
        from gridfs.errors import NoFile

        try:
            stream = await self._gridfs().open_download_stream(_checked(id))
        except NoFile:
            return None
        return bytes(await stream.read())

    async def delete(self, id: str) -> bool:
        from gridfs.errors import NoFile

        try:
            await self._gridfs().delete(_checked(id))
        except NoFile:
            return False
        return True

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = self._bucket = None


@dataclass
class AttachmentStore:
    """Each complaint's list of attachments (collection ``attachments``, ``_id`` = receipt number)
    and their bytes in ``blobs``."""

    db: DocumentStore
    blobs: Blobs
    attempts: int = 20
    _lists: Any = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._lists = self.db.collection("attachments")

    async def list(self, receipt_no: str) -> builtins.list[dict[str, Any]]:
        """The complaint's attachments' records, oldest first."""
        doc = await self._lists.get(receipt_no)
        return list((doc or {}).get("items", []))

    async def add(
        self,
        receipt_no: str,
        items: builtins.list[dict[str, Any]],
        check: Callable[[builtins.list[dict[str, Any]]], None],
    ) -> builtins.list[dict[str, Any]]:
        """Append ``items`` (records whose bytes are already stored) after ``check`` accepts the
        list as it is now (it raises to refuse); compare-and-set, retried on contention."""
        for _ in range(self.attempts):
            doc = await self._lists.get(receipt_no)
            current = list((doc or {}).get("items", []))
            check(current)
            new = {"_id": receipt_no, "items": current + items}
            written = (
                await self._lists.create(new)
                if doc is None
                else await self._lists.update(new, expected_version=doc["_v"])
            )
            if written:
                return current + items
        raise TransientError(f"attachments of {receipt_no}: too much contention")

    async def change(
        self, receipt_no: str, edit: Callable[[builtins.list[dict[str, Any]]], builtins.list[dict[str, Any]]]
    ) -> None:
        """Rewrite the complaint's records with ``edit`` (compare-and-set, retried on contention)."""
        for _ in range(self.attempts):
            doc = await self._lists.get(receipt_no)
            if doc is None:
                return
            items = edit(list(doc.get("items", [])))
            if items == doc.get("items") or await self._lists.update(
                {"_id": receipt_no, "items": items}, expected_version=doc["_v"]
            ):
                return
        raise TransientError(f"attachments of {receipt_no}: too much contention")

    async def page(self, *, after: str | None, limit: int) -> builtins.list[dict[str, Any]]:
        """Complaints' lists in receipt-number order, after ``after`` (maintenance: key rotation)."""
        return await self._lists.find({"_id": {"$gt": after}} if after else {}, sort=[("_id", 1)], limit=limit)

    async def put_bytes(self, id: str, data: bytes) -> None:
        await self.blobs.put(id, data)

    async def get_bytes(self, id: str) -> bytes | None:
        return await self.blobs.get(id)

    async def delete_bytes(self, id: str) -> bool:
        return await self.blobs.delete(id)

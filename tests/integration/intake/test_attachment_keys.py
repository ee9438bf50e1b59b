"""Attachments through a personal-data key rotation, on both backends: files and names sealed under the
old key still open while it is listed; ``reseal`` encrypts them again under the new key, after which the
old key can go; a second run has nothing to do."""

from __future__ import annotations

import base64
import os

from minwon.outbox import Relay
from services.intake import attachments as rules
from services.intake.api import ComplaintIn
from services.intake.attachments_handlers import Attachments, Upload
from services.intake.attachments_handlers import build as build_attachments
from services.intake.bootstrap import build
from tests import attachment_files as files
from tests.factories import complaint_payload

OFFICIAL = {"id": "road-01", "name": "임성훈", "department": "road", "roles": ["handler"]}


def _files(backend, bus, **keys) -> Attachments:
    settings = backend.settings(**keys)
    store = backend.store("intake")
    intake = build(settings, store=store, relay=Relay(bus))
    return build_attachments(settings, intake, store)


async def test_files_survive_a_key_rotation_and_reseal(backend) -> None:
    bus = backend.bus()
    old_key, new_key = (base64.b64encode(os.urandom(32)).decode() for _ in range(2))
    before = _files(backend, bus, pii_key_id="k1", pii_key=old_key)
    complaint, _ = await before.intake.file_complaint(ComplaintIn(**complaint_payload()).to_filing())
    [photo, doc] = await before.add(
        complaint,
        [Upload("file", "현장.jpg", files.photo()), Upload("file", "도면.pdf", files.pdf())],
        target=rules.COMPLAINT,
        by=OFFICIAL,
    )
    photo_bytes, _, _ = await before.read(complaint, photo["id"], by=OFFICIAL)
    await before.store.blobs.close()

    rotated = _files(backend, bus, pii_key_id="k2", pii_key=new_key, pii_old_keys=f"k1={old_key}")
    try:
        assert (await rotated.read(complaint, doc["id"], by=OFFICIAL))[0] == files.pdf()  # the old key still opens
        assert await rotated.reseal(batch=1) == {"checked": 2, "resealed": 2}
        assert await rotated.reseal() == {"checked": 2, "resealed": 0}
        assert await rotated.store.get_bytes(photo["id"]) is None  # the old blobs are gone
        assert await rotated.store.get_bytes(f"{photo['id']}.thumb") is None
    finally:
        await rotated.store.blobs.close()

    after = _files(backend, bus, pii_key_id="k2", pii_key=new_key)  # the old key removed
    try:
        assert [x["name"] for x in await after.list(complaint, by=OFFICIAL)] == ["현장.jpg", "도면.pdf"]
        assert (await after.read(complaint, photo["id"], by=OFFICIAL))[0] == photo_bytes
        assert (await after.read(complaint, doc["id"], by=OFFICIAL))[0] == files.pdf()
        thumb, media_type, _ = await after.read(complaint, photo["id"], by=OFFICIAL, thumbnail=True)
        assert media_type == "image/jpeg" and thumb.startswith(b"\xff\xd8")
    finally:
        await after.store.blobs.close()
        await bus.stop()

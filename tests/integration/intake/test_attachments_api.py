"""Attachments over HTTP, on both backends: the citizen and officials add files, the list, downloads
with the EXIF gone, department scope (403), bad input (413/415/422), encryption at rest, the audit
log, the answer's files reaching the citizen once answered, and Open311's media_url fetched only
from an allow-listed host."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import threading
import time
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from litestar.testing import AsyncTestClient
from PIL import Image

from apps.host import Infrastructure, create_app
from minwon import contracts as c
from minwon import topics
from minwon.crypto import Sealer
from minwon.events import Event
from services.intake.attachments_handlers import blobs_for
from services.intake.bootstrap import bootstrap
from tests import attachment_files as files
from tests.factories import STAFF, complaint_payload, staff_headers

API = "/api/v1/complaints"
HANDLER = staff_headers("road-01", department="road", roles=("handler",), name="임성훈")
PARKS = staff_headers("parks-07", department="parks", roles=("handler",), name="공원과직원")
PRIVACY = staff_headers("privacy-1", department=None, roles=("privacy_officer",), name="개인정보보호책임자")


class World:
    """Intake alone on ``backend``; routing's assignment is played on a bus of the test's own loop."""

    def __init__(self, backend) -> None:
        self.backend, self.bus, self.store = backend, backend.bus(), backend.store("intake")
        self.probe = backend.bus() if backend.distributed else self.bus
        self._stack = contextlib.AsyncExitStack()

    async def __aenter__(self) -> World:
        service = bootstrap(self.backend.settings(), store=self.store, bus=self.bus)
        app = create_app([service], Infrastructure(bus=self.bus, stores={"intake": self.store}))
        self._stack.push_async_callback(self.bus.stop)
        if self.probe is not self.bus:
            await self.probe.start()
            self._stack.push_async_callback(self.probe.stop)
        self.client = await self._stack.enter_async_context(AsyncTestClient(app))
        return self

    async def __aexit__(self, *exc) -> None:
        await self._stack.aclose()

    async def file(self, department: str = "road") -> tuple[str, str]:
        filed = (await self.client.post(API, json=complaint_payload())).json()
        receipt = filed["receipt_no"]
        await self.probe.publish(
            topics.ROUTING,
            Event.new(
                c.COMPLAINT_ASSIGNED,
                id=str(uuid.uuid4()),
                source="/test/routing",
                subject=receipt,
                time=datetime.now(UTC),
                data={
                    "receipt_no": receipt,
                    "department": department,
                    "department_name": "도로관리과",
                    "priority": False,
                    "kind": "other",
                    "received_at": None,
                    "occurred_at": datetime.now(UTC).isoformat(),
                    "handler": {"id": "road-01", "name": "임성훈", "contact": "051-000-2061"},
                },
            ),
        )
        for _ in range(150):
            view = (await self.client.get(f"{API}/{receipt}", headers=STAFF)).json()
            if view["department"] == department:
                return receipt, filed["check_code"]
            await asyncio.sleep(0.1)
        raise AssertionError("the assignment fact did not arrive")

    async def upload(self, receipt: str, *parts: tuple[str, bytes, str], headers=None, **params):
        multipart = [("file", (name, data, ctype)) for name, data, ctype in parts]
        return await self.client.post(
            f"{API}/{receipt}/attachments", files=multipart, headers=headers or {}, params=params
        )


async def test_citizen_and_officials_add_list_and_download_within_scope(backend) -> None:
    async with World(backend) as w:
        receipt, code = await w.file()
        photo = files.photo()
        added = await w.upload(receipt, ("가로등-현장.jpeg", photo, "image/jpeg"), code=code)
        assert added.status_code == 201, added.text
        [mine] = added.json()["items"]
        assert mine["name"] == "가로등-현장.jpg" and mine["media_type"] == "image/jpeg" and mine["thumbnail"]
        assert mine["target"] == "complaint" and mine["uploaded_by"] is None

        doc = await w.upload(receipt, ("조치계획.pdf", files.pdf(), "application/pdf"), headers=HANDLER)
        assert doc.status_code == 201 and doc.json()["items"][0]["uploaded_by"] == "임성훈"
        answer_file = await w.upload(
            receipt, ("처리결과.pdf", files.pdf(), "application/pdf"), headers=HANDLER, target="answer"
        )
        assert answer_file.status_code == 201, answer_file.text
        answer_id = answer_file.json()["items"][0]["id"]

        listed = await w.client.get(f"{API}/{receipt}/attachments", headers=HANDLER)
        assert listed.status_code == 200
        assert [(x["name"], x["target"]) for x in listed.json()["items"]] == [
            ("가로등-현장.jpg", "complaint"),
            ("조치계획.pdf", "complaint"),
            ("처리결과.pdf", "answer"),
        ]

        # the stored photo has no EXIF: no GPS position, no camera
        got = await w.client.get(f"{API}/{receipt}/attachments/{mine['id']}", headers=HANDLER)
        assert got.status_code == 200 and got.headers["content-type"].startswith("image/jpeg")
        assert got.headers["content-disposition"].startswith("attachment;")
        assert files.exif_of(got.content) == {} and files.CAMERA.encode() not in got.content
        with Image.open(io.BytesIO(got.content)) as image:
            assert image.size == (640, 480)
        thumb = await w.client.get(f"{API}/{receipt}/attachments/{mine['id']}/thumbnail", headers=HANDLER)
        assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
        with Image.open(io.BytesIO(thumb.content)) as image:
            assert max(image.size) == 240

        # another department's official: 403 on every route; no identity: 401
        for path in ("", f"/{mine['id']}", f"/{mine['id']}/thumbnail"):
            assert (await w.client.get(f"{API}/{receipt}/attachments{path}", headers=PARKS)).status_code == 403
            assert (await w.client.get(f"{API}/{receipt}/attachments{path}")).status_code == 401
        refused = await w.upload(receipt, ("x.pdf", files.pdf(), "application/pdf"), headers=PARKS)
        assert refused.status_code == 403
        assert (await w.client.get(f"{API}/{receipt}/attachments", params={"code": "WRONG1"})).status_code == 404

        # the citizen sees their own file, not the answer's before the answer is given
        theirs = await w.client.get(f"{API}/{receipt}/attachments", params={"code": code})
        assert [x["name"] for x in theirs.json()["items"]] == ["가로등-현장.jpg", "조치계획.pdf"]
        early = await w.client.get(f"{API}/{receipt}/attachments/{answer_id}", params={"code": code})
        assert early.status_code == 404
        assert (
            await w.upload(receipt, ("a.pdf", files.pdf(), "application/pdf"), code=code, target="answer")
        ).status_code == 422

        # answered: the citizen reads the answer's file too
        assert (
            await w.client.put(f"{API}/answer-policies/road", json={"approval_required": False}, headers=STAFF)
        ).status_code == 200
        closed = await w.client.post(
            f"{API}/{receipt}/close", headers=HANDLER, json={"outcome": "accepted", "text": "가로등을 교체했습니다."}
        )
        assert closed.status_code == 200, closed.text
        assert (
            "붙임\n1. 처리결과.pdf"
            in (await w.client.get(f"{API}/{receipt}", params={"code": code})).json()["answer"]["text"]
        )
        theirs = await w.client.get(f"{API}/{receipt}/attachments", params={"code": code})
        assert [x["target"] for x in theirs.json()["items"]] == ["complaint", "complaint", "answer"]
        read = await w.client.get(f"{API}/{receipt}/attachments/{answer_id}", params={"code": code})
        assert read.status_code == 200 and read.content == files.pdf()
        late = await w.upload(receipt, ("b.pdf", files.pdf(), "application/pdf"), headers=HANDLER)
        assert late.status_code == 409  # closed: nothing more is added

        # encrypted at rest: neither the bytes nor the names in clear
        reader = w.backend.store("intake")  # the test's own client (the app's runs on its own loop)
        blobs = blobs_for(w.backend.settings(), reader)
        try:
            sealed = await blobs.get(mine["id"])
            assert sealed is not None and sealed != got.content and not sealed.startswith(b"\xff\xd8")
            assert files.pdf()[:8] not in (await blobs.get(answer_id) or b"")
        finally:
            await blobs.close()
        raw = json.dumps(await reader.collection("attachments").get(receipt), ensure_ascii=False)
        assert "가로등-현장" not in raw and "처리결과" not in raw

        # every read audited, citizen's included
        audit = (await w.client.get(f"{API}/audit", params={"receipt_no": receipt}, headers=PRIVACY)).json()
        actions = [(x["actor_id"], x["action"]) for x in audit["items"]]
        assert ("road-01", "read_attachment") in actions and ("road-01", "read_attachment_thumbnail") in actions
        assert ("citizen", "read_attachment") in actions and ("road-01", "add_attachment") in actions
        assert not any(actor == "parks-07" for actor, _ in actions)


async def test_bad_files_are_refused_naming_the_field(backend, monkeypatch) -> None:
    monkeypatch.setenv("MINWON_ATTACHMENT_MAX_BYTES", "200000")
    monkeypatch.setenv("MINWON_ATTACHMENT_MAX_COUNT", "2")
    async with World(backend) as w:
        receipt, code = await w.file()

        def refused(response, status: int, error: str) -> None:
            assert response.status_code == status, response.text
            body = response.json()
            assert body["error"] == error and body["fields"][0]["field"] == "file", body

        big = files.pdf() + bytes(200_001)
        refused(await w.upload(receipt, ("big.pdf", big, "application/pdf"), code=code), 413, "too_large")
        refused(
            await w.upload(receipt, ("photo.jpg", files.executable(), "image/jpeg"), headers=HANDLER),
            415,
            "unsupported_type",
        )
        refused(
            await w.upload(receipt, ("doc.hwp", files.word_document(), "application/x-hwp"), code=code),
            415,
            "unsupported_type",
        )
        refused(
            await w.upload(receipt, ("x.jpg", files.broken_jpeg(), "image/jpeg"), code=code), 422, "unreadable_image"
        )
        as_json = await w.client.post(f"{API}/{receipt}/attachments", json={"file": "aGVsbG8="}, headers=HANDLER)
        refused(as_json, 415, "invalid")
        refused(
            await w.client.post(
                f"{API}/{receipt}/attachments", files=[("other", ("a.txt", b"hi", "text/plain"))], headers=HANDLER
            ),
            422,
            "invalid",
        )
        three = [(f"{i}.pdf", files.pdf(), "application/pdf") for i in range(3)]
        refused(await w.upload(receipt, *three, headers=HANDLER), 422, "too_many_files")
        assert (await w.client.get(f"{API}/{receipt}/attachments", headers=HANDLER)).json()["items"] == []
        ok = await w.upload(
            receipt,
            ("a.hwp", files.hwp(), "application/octet-stream"),
            ("b.txt", "메모입니다".encode(), "text/plain"),
            code=code,
        )
        assert ok.status_code == 201, ok.text
        assert [x["media_type"] for x in ok.json()["items"]] == ["application/x-hwp", "text/plain; charset=utf-8"]
        refused(
            await w.upload(receipt, ("c.pdf", files.pdf(), "application/pdf"), headers=HANDLER), 422, "too_many_files"
        )


class _PhotoHost(BaseHTTPRequestHandler):
    """Serves a photo; ``/redirect/...`` answers 302 to another photo, ``/big/...`` more than the fetch limit,
    ``/slow/...`` after longer than the fetch timeout."""

    served: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - the standard library's name
        type(self).served.append(self.path)
        if self.path.startswith("/redirect/"):
            self.send_response(302)
            self.send_header("Location", "/photos/elsewhere.jpg")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.path.startswith("/slow/"):
            time.sleep(2)
        body = (
            files.photo(size=(2400, 1800)) + bytes(400_000)
            if self.path.startswith("/big/")
            else files.photo(size=(320, 240))
        )
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def photo_host():
    _PhotoHost.served = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _PhotoHost)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


async def test_open311_media_url_is_fetched_only_from_an_allowed_host(backend, monkeypatch, photo_host) -> None:
    monkeypatch.setenv("MINWON_ATTACHMENT_FETCH_HOSTS", "127.0.0.1")
    tag = uuid.uuid4().hex[:8]
    fields = {
        "service_code": "road",
        "address_string": f"부산광역시 해운대구 우동 {tag[:3]}",
        "email": f"o311-{tag}@example.kr",
        "first_name": "길동",
        "last_name": "홍",
        "description": f"보도블록 파손 {tag}",
    }
    async with World(backend) as w:
        allowed = await w.client.post(
            "/open311/v2/requests.json", json={**fields, "media_url": f"http://127.0.0.1:{photo_host}/photos/{tag}.jpg"}
        )
        assert allowed.status_code == 201, allowed.text
        receipt = allowed.json()[0]["service_request_id"]
        [item] = (await w.client.get(f"{API}/{receipt}/attachments", headers=STAFF)).json()["items"]
        assert item["name"] == f"{tag}.jpg" and item["thumbnail"]
        got = await w.client.get(f"{API}/{receipt}/attachments/{item['id']}", headers=STAFF)
        assert files.exif_of(got.content) == {}
        personal = (await w.client.get(f"{API}/{receipt}/personal", params={"purpose": "확인"}, headers=STAFF)).json()
        assert f"/photos/{tag}.jpg" in personal["body"]  # the link is kept on the complaint

        other = await w.client.post(
            "/open311/v2/requests.json",
            json={**fields, "media_url": f"http://localhost:{photo_host}/photos/not-{tag}.jpg"},
        )
        assert other.status_code == 201
        receipt = other.json()[0]["service_request_id"]
        assert (await w.client.get(f"{API}/{receipt}/attachments", headers=STAFF)).json()["items"] == []
        assert _PhotoHost.served == [f"/photos/{tag}.jpg"]  # the other host was never asked


async def test_open311_fetch_is_bounded_in_size_and_time_and_follows_no_redirect(
    backend, monkeypatch, photo_host
) -> None:
    monkeypatch.setenv("MINWON_ATTACHMENT_FETCH_HOSTS", "127.0.0.1")
    monkeypatch.setenv("MINWON_ATTACHMENT_FETCH_MAX_BYTES", "300000")
    monkeypatch.setenv("MINWON_ATTACHMENT_FETCH_TIMEOUT_SECONDS", "0.5")
    tag = uuid.uuid4().hex[:8]
    fields = {
        "service_code": "road",
        "address_string": f"부산광역시 해운대구 우동 {tag[:3]}",
        "email": f"o311-{tag}@example.kr",
        "first_name": "길동",
        "last_name": "홍",
        "description": "파손",
    }
    async with World(backend) as w:
        for path in ("redirect", "big", "slow"):
            started = time.monotonic()
            filed = await w.client.post(
                "/open311/v2/requests.json",
                json={**fields, "media_url": f"http://127.0.0.1:{photo_host}/{path}/{tag}.jpg"},
            )
            assert filed.status_code == 201, filed.text  # the filing stands
            assert time.monotonic() - started < 1.9, path  # the slow host is not waited for
            receipt = filed.json()[0]["service_request_id"]
            assert (await w.client.get(f"{API}/{receipt}/attachments", headers=STAFF)).json()["items"] == [], path
        assert "/photos/elsewhere.jpg" not in _PhotoHost.served  # the redirect was not followed


async def test_the_answers_files_are_named_in_its_text_and_fixed_once_submitted(backend) -> None:
    lead = staff_headers("road-lead", department="road", roles=("team_lead",), name="박팀장")
    async with World(backend) as w:
        receipt, code = await w.file()
        path = f"{API}/{receipt}/answer"
        drafted = await w.client.put(path, headers=HANDLER, json={"outcome": "accepted", "text": "보수했습니다."})
        assert drafted.status_code == 200, drafted.text
        added = await w.upload(
            receipt, ("보수결과.pdf", files.pdf(), "application/pdf"), headers=HANDLER, target="answer"
        )
        assert added.status_code == 201, added.text
        text = (await w.client.get(path, headers=HANDLER)).json()["answer"]["text"]
        assert text.startswith("보수했습니다.\n\n붙임\n1. 보수결과.pdf\n")  # the draft names its file

        # the handler rewrites the text without the list: submitting puts it back
        assert (
            await w.client.put(path, headers=HANDLER, json={"outcome": "accepted", "text": "보수를 마쳤습니다."})
        ).status_code == 200
        submitted = await w.client.post(f"{path}/submit", headers=HANDLER)
        assert submitted.status_code == 200 and submitted.json()["answer"]["state"] == "submitted"
        assert "붙임\n1. 보수결과.pdf" in submitted.json()["answer"]["text"]
        late = await w.upload(receipt, ("추가.pdf", files.pdf(), "application/pdf"), headers=HANDLER, target="answer")
        assert late.status_code == 409 and late.json()["error"] == "answer_submitted"
        assert (
            await w.upload(receipt, ("현장.pdf", files.pdf(), "application/pdf"), headers=HANDLER)
        ).status_code == 201  # the complaint's own files still may

        approved = await w.client.post(f"{path}/approve", headers=lead, json={})
        assert approved.status_code == 200 and approved.json()["status"] == "closed"
        public = (await w.client.get(f"{API}/{receipt}", params={"code": code})).json()
        assert public["answer"]["text"].startswith("보수를 마쳤습니다.\n\n붙임\n1. 보수결과.pdf\n")
        theirs = (await w.client.get(f"{API}/{receipt}/attachments", params={"code": code})).json()["items"]
        assert [x["name"] for x in theirs if x["target"] == "answer"] == ["보수결과.pdf"]

        # the result notice is written from the sealed answer part: it names the file; no topic carries it in clear
        bus = w.backend.bus() if w.backend.distributed else w.bus
        for _ in range(100):
            found = [
                e
                async for _, e in bus.read([topics.PRIVATE])
                if e.subject == receipt and e.data.get("part") == "answer"
            ]
            if found:
                break
            await asyncio.sleep(0.1)
        [answer] = found
        content = Sealer("c1", w.backend.settings().contacts_key).open_json(answer.data["sealed"], context=receipt)
        assert "붙임\n1. 보수결과.pdf" in content["text"]
        for topic in (topics.COMPLAINTS, topics.PRIVATE):
            leaked = [
                e
                async for _, e in bus.read([topic])
                if e.subject == receipt and "보수결과" in json.dumps(e.data, ensure_ascii=False)
            ]
            assert leaked == []

"""The provider adapters against real local servers: the HTTP SMS gateway, SMTP; the PDF letters;
and the gateway wired into the service on both backends."""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from minwon import topics
from services.notification import domain, letters
from services.notification.providers import DeliveryFailed, HttpGateway, Message, SmtpEmail, SpoolPost
from tests.integration.notification.helpers import SmtpServer, app, listed, of, statuses, until
from tests.unit.notification.factories import assigned, filing, receipt_no, received

# ------------------------------------------------------------------ a local SMS gateway


class Gateway(ThreadingHTTPServer):
    """A small HTTP SMS gateway on 127.0.0.1: records requests, answers as scripted, honours idempotency keys."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _GatewayHandler)
        self.requests: list[dict[str, Any]] = []
        self.script: list[int] = []  # status codes to answer with, in order; then 200
        self.seen: dict[str, str] = {}
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1/messages"


class _GatewayHandler(BaseHTTPRequestHandler):
    server: Gateway

    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with self.server.lock:
            self.server.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
            status = self.server.script.pop(0) if self.server.script else 200
            key = self.headers.get("Idempotency-Key", "")
            if status == 200 and key in self.server.seen:
                status, answer = 409, {"message_id": self.server.seen[key]}
            elif status == 200:
                self.server.seen[key] = answer_id = f"gw-{len(self.server.seen) + 1}"
                answer = {"message_id": answer_id, "status": "accepted"}
            else:
                answer = {"error": "scripted"}
        raw = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    server = Gateway()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def message(channel: str = domain.LMS, key: str = "n-1", **changes: Any) -> Message:
    values = dict(
        idempotency_key=key,
        channel=channel,
        to="010-2345-6789",
        subject="민원 접수 안내",
        text="[부산광역시] 민원 접수 안내\n접수번호 2026-TEST-1",
        receipt_no="2026-TEST-1",
        template=domain.RECEIPT,
        template_version=1,
        role="citizen",
        audience="citizen",
        to_masked="010-****-6789",
        text_masked="...",
    )
    return Message(**{**values, **changes})


async def test_gateway_posts_json_with_credentials_and_the_idempotency_key(gateway: Gateway) -> None:
    adapter = HttpGateway(gateway.url, api_key="secret-key", sender="051-120", timeout=5)
    delivery = await adapter.send(message())
    assert delivery.message_id == "gw-1" and not delivery.duplicate and delivery.provider == "gateway"
    (request,) = gateway.requests
    assert request["path"] == "/v1/messages"
    assert request["headers"]["Authorization"] == "Bearer secret-key"
    assert request["headers"]["Idempotency-Key"] == "n-1"
    assert request["body"] == {
        "message_id": "n-1",
        "type": "LMS",
        "from": "051-120",
        "to": "010-2345-6789",
        "text": "[부산광역시] 민원 접수 안내\n접수번호 2026-TEST-1",
        "subject": "민원 접수 안내",
    }
    again = await adapter.send(message())
    assert again.duplicate and again.message_id == "gw-1"
    alim = await HttpGateway(gateway.url, alimtalk_sender_key="kakao-key").send(message(domain.ALIMTALK, key="n-2"))
    assert alim.message_id == "gw-2"
    body = gateway.requests[-1]["body"]
    assert body["type"] == "ALIMTALK" and body["template_code"] == "citizen.receipt.v1"
    assert body["sender_key"] == "kakao-key"
    await HttpGateway(gateway.url).send(message(domain.SMS, key="n-3", text="짧은 문자"))
    assert "subject" not in gateway.requests[-1]["body"] and gateway.requests[-1]["body"]["type"] == "SMS"


@pytest.mark.parametrize(("status", "permanent"), [(500, False), (503, False), (429, False), (400, True), (401, True)])
async def test_gateway_errors_are_transient_or_permanent(gateway: Gateway, status: int, permanent: bool) -> None:
    gateway.script = [status]
    with pytest.raises(DeliveryFailed) as failure:
        await HttpGateway(gateway.url).send(message())
    assert failure.value.code == f"http_{status}" and failure.value.permanent is permanent


async def test_gateway_unreachable_is_transient() -> None:
    with pytest.raises(DeliveryFailed) as failure:
        await HttpGateway("http://127.0.0.1:9/v1/messages", timeout=2).send(message())
    assert failure.value.code in ("connect_error", "timeout") and not failure.value.permanent


async def test_the_service_sends_through_the_gateway_once_across_retries(backend, pub, gateway: Gateway) -> None:
    gateway.script = [503]  # the first call fails: the retry loop sends again, with the same key
    store, bus = backend.store("notification"), backend.bus()
    r = receipt_no()
    sealed_filing, contact = filing(r)
    events = [(topics.PRIVATE, sealed_filing), (topics.COMPLAINTS, received(r)), (topics.ROUTING, assigned(r))]
    async with AsyncTestClient(
        app(
            backend,
            store,
            bus,
            sms_provider="gateway",
            gateway_url=gateway.url,
            gateway_api_key="k",
            gateway_sender="120",
        )
    ) as client:
        for topic, e in events:
            await pub.publish(topic, e)
        items = await until(lambda: listed(client, r), lambda xs: statuses(xs, domain.RECEIPT) == ["sent"])
        receipt = of(items, domain.RECEIPT)[0]
        assert receipt["attempts"] == 2 and [a["outcome"] for a in receipt["attempt_log"]] == ["failed", "sent"]
        assert receipt["delivery"]["provider"] == "gateway" and receipt["delivery"]["message_id"] == "gw-1"
        assert receipt["deliveries"] == []  # the dev sink was not used for SMS
        calls = [q for q in gateway.requests if q["headers"]["Idempotency-Key"] == receipt["id"]]
        assert len(calls) == 2 and calls[0]["body"] == calls[1]["body"]
        assert calls[0]["body"]["to"] == contact["phone"] and "김담당" in calls[0]["body"]["text"]
        assert [s["status"] for s in of(items, domain.STAFF_ASSIGNED)] == ["sent"]  # staff still on the dev sink


# ------------------------------------------------------------------ a local SMTP server


async def test_email_over_smtp_with_the_notification_id_as_message_id() -> None:
    server = SmtpServer()
    port = await server.start()
    try:
        adapter = SmtpEmail("127.0.0.1", port, sender="minwon@busan.example", timeout=5)
        delivery = await adapter.send(message(domain.EMAIL, key="n-mail", to="citizen@example.kr"))
        assert delivery.message_id == "<n-mail@minwon.notification>" and delivery.provider == "smtp"
        (mail,) = server.messages
        assert "citizen@example.kr" in mail["rcpt"][0]
        assert "Message-ID: <n-mail@minwon.notification>" in mail["data"]
        assert "X-Minwon-Receipt: 2026-TEST-1" in mail["data"]
    finally:
        await server.stop()


async def test_a_refused_recipient_is_permanent_and_no_server_is_transient() -> None:
    server = SmtpServer(reject_rcpt=True)
    port = await server.start()
    try:
        with pytest.raises(DeliveryFailed) as failure:
            await SmtpEmail("127.0.0.1", port, timeout=5).send(message(domain.EMAIL, to="nobody@example.kr"))
        assert failure.value.permanent
    finally:
        await server.stop()
    with pytest.raises(DeliveryFailed) as failure:
        await SmtpEmail("127.0.0.1", port, timeout=2).send(message(domain.EMAIL, to="nobody@example.kr"))
    assert failure.value.code == "smtp_unavailable" and not failure.value.permanent


# ------------------------------------------------------------------ letters


LETTER = letters.Letter(
    org_name="부산광역시",
    title="민원 처리결과 통지서",
    recipient_name="홍길동",
    address="부산광역시 해운대구 우동 1번지",
    body="귀하께서 신청하신 민원의 처리결과를 다음과 같이 알려 드립니다.\n"
    "1. 처리결과: 불수용\n2. 사유: 관련 법령 미충족",
    receipt_no="2026-TEST-1",
    letter_no="n-letter",
    issued_at=datetime(2026, 11, 20, 1, 0, tzinfo=UTC),
)


def _unicode_map(pdf: bytes) -> set[int]:
    """Code points in the PDF's ToUnicode CMaps (the text a reader extracts)."""
    points = set()
    for stream in re.findall(rb"beginbf(?:char|range)(.*?)endbf(?:char|range)", pdf, re.S):
        for hexa in re.findall(rb"<([0-9A-Fa-f]{4})>", stream):
            points.add(int(hexa, 16))
    return points


def test_a_letter_renders_korean_with_the_bundled_font_when_the_system_has_none() -> None:
    font = letters.find_font(None, candidates=())
    assert font.source == "bundled" and font.path == letters.BUNDLED_FONT
    pdf, meta = letters.render_pdf(LETTER, font)
    assert pdf.startswith(b"%PDF-") and b"/FontFile2" in pdf and b"NanumSquare" in pdf
    points = _unicode_map(pdf)
    for char in "부산광역시홍길동처리결과불수용":
        assert ord(char) in points, char
    assert meta["sha256"] == hashlib.sha256(pdf).hexdigest() and meta["pages"] == 1
    assert meta["font_source"] == "bundled" and meta["recipient"] == "홍*동"
    assert meta["address"] == "부산광역시 해운대구 ***"
    again, _ = letters.render_pdf(LETTER, font)
    assert again == pdf  # deterministic: the hash is stable evidence across retries


def test_a_configured_font_must_exist(tmp_path) -> None:
    with pytest.raises(FileNotFoundError):
        letters.find_font(tmp_path / "missing.ttf")
    assert letters.find_font(letters.BUNDLED_FONT).source == "configured"


async def test_the_spool_writes_the_letter_once(tmp_path) -> None:
    pdf, meta = letters.render_pdf(LETTER, letters.find_font(None, candidates=()))
    spool = SpoolPost(tmp_path / "spool")
    m = message(domain.POST, key="n-letter", to=LETTER.address, attachment=pdf, attachment_meta=meta)
    first, second = await spool.send(m), await spool.send(m)
    assert not first.duplicate and second.duplicate
    assert (tmp_path / "spool" / "n-letter.pdf").read_bytes() == pdf
    written = json.loads((tmp_path / "spool" / "n-letter.json").read_text())
    assert written["sha256"] == meta["sha256"] and written["address"] == LETTER.address
    with pytest.raises(DeliveryFailed):
        await spool.send(message(domain.POST, key="n-none"))

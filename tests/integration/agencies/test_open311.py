"""Open311 GeoReport v2 through intake, on both backends: the specification's requests and answers."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from litestar.testing import AsyncTestClient

from apps.host import Infrastructure, create_app
from minwon import contracts as c
from minwon import topics
from services.intake.bootstrap import bootstrap
from tests.factories import STAFF, complaint_payload
from tests.integration.agencies.helpers import close, until
from tests.unit.agencies.test_open311_mapping import REQUEST_FIELDS, SERVICE_FIELDS

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _app(backend, store, bus):
    service = bootstrap(backend.settings(), store=store, bus=bus)
    return create_app([service], Infrastructure(bus=bus, stores={"intake": store}))


def _post_fields(tag: str, **changes) -> dict[str, str]:
    fields = {
        "api_key": "app-1",
        "jurisdiction_id": "busan.go.kr",
        "service_code": "road",
        "lat": "35.1631",
        "long": "129.1636",
        "address_string": f"부산광역시 해운대구 우동 {tag[:3]}",
        "email": f"open311-{tag}@example.kr",
        "first_name": f"길동{tag}",
        "last_name": "홍",
        "phone": f"010-5{tag[:3]}-{tag[3:7]}",
        "description": f"보도블록이 깨져 있습니다 {tag}",
        "device_id": "tt222111",
    }
    fields.update(changes)
    return {k: v for k, v in fields.items() if v is not None}


async def test_services_list_has_the_specifications_shape(backend) -> None:
    store, bus = backend.store("intake"), backend.bus()
    async with AsyncTestClient(_app(backend, store, bus)) as client:
        response = await client.get("/open311/v2/services.json")
        assert response.status_code == 200 and response.headers["content-type"].startswith("application/json")
        services = response.json()
        assert isinstance(services, list) and len(services) >= 10
        assert all(set(s) == SERVICE_FIELDS for s in services)
        assert {"road", "suggestion", "inquiry"} <= {s["service_code"] for s in services}
        definition = await client.get("/open311/v2/services/road.json")
        assert definition.json() == {"service_code": "road", "attributes": []}
        missing = await client.get("/open311/v2/services/nope.json")
        assert missing.status_code == 404 and missing.json()[0]["code"] == 404
        xml = await client.get("/open311/v2/services/road.xml")
        assert xml.status_code == 404 and "JSON" in xml.json()[0]["description"]


async def test_a_request_round_trips_through_intake_form_and_json(backend) -> None:
    store, bus = backend.store("intake"), backend.bus()
    reader = backend.bus()
    tag = uuid.uuid4().hex[:8]
    try:
        async with AsyncTestClient(_app(backend, store, bus)) as client:
            form = _post_fields(tag)
            created = await client.post("/open311/v2/requests.json", content=urlencode(form), headers=FORM)
            assert created.status_code == 201, created.text
            [answer] = created.json()
            assert set(answer) == {"service_request_id", "service_notice", "account_id"}
            assert answer["account_id"] is None
            receipt = answer["service_request_id"]

            # it is an ordinary complaint in intake: channel online, kind and category from the service
            staff = (await client.get(f"/api/v1/complaints/{receipt}", headers=STAFF)).json()
            assert (staff["channel"], staff["kind"], staff["category"], staff["district"]) == (
                "online",
                "other",
                "도로",
                "해운대구",
            )
            code = answer["service_notice"].split("확인코드 ")[1].split(".")[0]
            assert (await client.get(f"/api/v1/complaints/{receipt}?code={code}")).status_code == 200

            # the same through JSON, with an Idempotency-Key repeated: one complaint
            body = _post_fields(tag, service_code="suggestion", description=f"공원에 그늘막을 설치해 주세요 {tag}")
            key = {"Idempotency-Key": f"open311-{tag}"}
            first = await client.post("/open311/v2/requests.json", json=body, headers=key)
            again = await client.post("/open311/v2/requests.json", json=body, headers=key)
            assert (
                first.status_code == 201
                and first.json()[0]["service_request_id"] == again.json()[0]["service_request_id"]
            )
            suggestion = first.json()[0]["service_request_id"]

            # GET one request: a one-element array of the specification's fields, nothing personal
            shown = await client.get(f"/open311/v2/requests/{receipt}.json")
            assert shown.status_code == 200
            [request] = shown.json()
            assert set(request) == REQUEST_FIELDS
            assert (request["service_request_id"], request["status"], request["service_code"]) == (
                receipt,
                "open",
                "road",
            )
            text = json.dumps(shown.json(), ensure_ascii=False) + json.dumps(
                (await client.get("/open311/v2/requests.json")).json(), ensure_ascii=False
            )
            for secret in (
                form["first_name"],
                form["phone"],
                form["email"],
                form["address_string"],
                tag,
                form["lat"],
                code,
            ):
                assert secret not in text, secret

            # GET many, with the standard filters
            both = (await client.get(f"/open311/v2/requests.json?service_request_id={receipt},{suggestion}")).json()
            assert {r["service_request_id"] for r in both} == {receipt, suggestion}
            by_code = (await client.get("/open311/v2/requests.json?service_code=suggestion")).json()
            assert suggestion in {r["service_request_id"] for r in by_code}
            assert receipt not in {r["service_request_id"] for r in by_code}
            now = datetime.now(UTC)
            window = {
                "start_date": (now - timedelta(hours=1)).isoformat(),
                "end_date": (now + timedelta(hours=1)).isoformat(),
            }
            recent = (await client.get(f"/open311/v2/requests.json?{urlencode(window)}&status=open")).json()
            assert {receipt, suggestion} <= {r["service_request_id"] for r in recent}
            old = {
                "start_date": (now - timedelta(days=9)).isoformat(),
                "end_date": (now - timedelta(days=8)).isoformat(),
            }
            assert receipt not in {
                r["service_request_id"]
                for r in (await client.get(f"/open311/v2/requests.json?{urlencode(old)}")).json()
            }
            closed = (await client.get("/open311/v2/requests.json?status=closed")).json()
            assert receipt not in {r["service_request_id"] for r in closed}

            # closed by staff: the request says closed
            answer = f"/api/v1/complaints/{receipt}/answer"
            await client.put(answer, json={"outcome": "accepted", "text": "보수하였습니다"}, headers=STAFF)
            await client.post(f"{answer}/submit", headers=STAFF)
            done = await client.post(f"{answer}/approve", json={}, headers=STAFF)
            assert done.status_code == 200, done.text
            [request] = (await client.get(f"/open311/v2/requests/{receipt}.json")).json()
            assert request["status"] == "closed" and request["status_notes"] == "closed"
            closed = (await client.get(f"/open311/v2/requests.json?status=closed&{urlencode(window)}")).json()
            assert receipt in {r["service_request_id"] for r in closed}

            # the events of an Open311 filing are intake's own, and carry no personal data
            events = await until(lambda: _events(reader, receipt), lambda es: len(es) >= 3)
            assert {e.type for _, e in events} >= {c.COMPLAINT_RECEIVED, c.COMPLAINT_SEALED, c.COMPLAINT_CLOSED}
            for topic, e in events:
                if topic == topics.COMPLAINTS:
                    assert e.data["channel"] == "online" and form["first_name"] not in e.model_dump_json()
    finally:
        await close(reader)


async def _events(bus, receipt: str):
    return [(t, e) async for t, e in bus.read([topics.COMPLAINTS, topics.PRIVATE]) if e.subject == receipt]


async def test_errors_are_the_specifications_error_array(backend) -> None:
    store, bus = backend.store("intake"), backend.bus()
    tag = uuid.uuid4().hex[:8]
    async with AsyncTestClient(_app(backend, store, bus)) as client:
        anonymous = _post_fields(tag, phone=None, email=None)
        refused = await client.post("/open311/v2/requests.json", content=urlencode(anonymous), headers=FORM)
        assert refused.status_code == 400
        [error] = refused.json()
        assert set(error) == {"code", "description"} and error["code"] == 400 and "Anonymous" in error["description"]
        nameless = await client.post(
            "/open311/v2/requests.json", json=_post_fields(tag, first_name=None, last_name=None)
        )
        assert nameless.status_code == 400 and nameless.json()[0]["code"] == 400
        for fields, code in (
            (_post_fields(tag, service_code="001"), 404),
            (_post_fields(tag, lat=None, long=None, address_string=None), 400),
        ):
            response = await client.post("/open311/v2/requests.json", content=urlencode(fields), headers=FORM)
            assert response.status_code == code and response.json()[0]["code"] == code
        plain = await client.post(
            "/open311/v2/requests.json", content=b"service_code=road", headers={"Content-Type": "text/plain"}
        )
        assert plain.status_code == 400 and isinstance(plain.json(), list)
        for query in (
            "status=pending",
            "start_date=yesterday",
            "start_date=2026-01-01T00:00:00%2B09:00&end_date=2026-06-01T00:00:00%2B09:00",
            "service_code=nope",
        ):
            response = await client.get(f"/open311/v2/requests.json?{query}")
            assert response.status_code in (400, 404) and response.json()[0]["code"] == response.status_code, query
        unknown = await client.get("/open311/v2/requests/2026-BUSAN-9999999.json")
        assert unknown.status_code == 404 and unknown.json()[0]["code"] == 404

        # a whistleblower's complaint is not listed, even by its number
        filed = await client.post("/api/v1/complaints", json=complaint_payload(whistleblower=True))
        secret = filed.json()["receipt_no"]
        assert (await client.get(f"/open311/v2/requests/{secret}.json")).status_code == 404
        assert secret not in {r["service_request_id"] for r in (await client.get("/open311/v2/requests.json")).json()}

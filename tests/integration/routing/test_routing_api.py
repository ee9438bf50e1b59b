"""The rule table and departments over HTTP: create, change, disable; every version and audit record kept."""

from __future__ import annotations

from tests.factories import staff_headers
from tests.integration.routing.helpers import in_app, running

RULES = "/api/v1/routing/rules"
KIM = staff_headers("kim", roles=("complaint_office",))


def _preview(**overrides):
    return {
        "kind": "other",
        "category": "도로",
        "district": "해운대구 좌동",
        "channel": "online",
        "title": "포트홀",
        "body": "차가 덜컹",
        **overrides,
    }


async def test_rules_are_seeded_once_and_listed_in_the_order_they_are_tried(backend) -> None:
    async with running(backend) as run:
        items = (await run.client.get(f"{RULES}/")).json()["items"]
        assert len(items) >= 30 and items[-1]["id"] == "default"
        assert [i["priority"] for i in items] == sorted(i["priority"] for i in items)
        assert "versions" not in items[0]
        seeded = await in_app(run, run.store.collection("rules").count)
    async with running(backend) as again:  # a restart over the same store does not seed twice
        assert await in_app(again, again.store.collection("rules").count) == seeded
        departments = (await again.client.get("/api/v1/routing/departments")).json()["items"]
        assert len(departments) >= 15
        assert all(h["name"] and h["contact"] for d in departments for h in d["handlers"])


async def test_rule_lifecycle_keeps_every_version_and_audit_record(backend) -> None:
    async with running(backend) as run:
        c = run.client
        created = await c.post(
            f"{RULES}/",
            headers=KIM,
            json={
                "id": "haeundae-pothole",
                "name": "해운대 포트홀",
                "priority": 5,
                "department": "road",
                "conditions": {"keywords": ["포트홀"], "districts": ["해운대구"]},
            },
        )
        assert created.status_code == 201, created.text
        assert created.json()["version"] == 1 and created.json()["audit"][0]["actor"] == "kim"

        preview = (await c.post("/api/v1/routing/preview", json=_preview())).json()
        assert preview["rule"] == {"id": "haeundae-pothole", "version": 1, "name": "해운대 포트홀", "priority": 5}
        assert preview["department"] == {"code": "road", "name": "도로관리과"}
        assert [m["field"] for m in preview["matched"]] == ["districts", "keywords"]
        assert preview["skipped"] == [] and not preview["default"]

        patched = await c.patch(
            f"{RULES}/haeundae-pothole",
            headers={**KIM, "If-Match": "1"},
            json={"priority": 65, "conditions": {"keywords": ["포트홀", "싱크홀"]}},
        )
        assert patched.status_code == 200, patched.text
        body = patched.json()
        assert body["version"] == 2 and body["conditions"]["districts"] == ["해운대구"]
        assert set(body["audit"][-1]["changes"]) == {"priority", "conditions"}
        stale = await c.patch(f"{RULES}/haeundae-pothole", headers={"If-Match": "1"}, json={"priority": 66})
        assert stale.status_code == 409

        put = await c.put(
            f"{RULES}/haeundae-pothole",
            json={
                "name": "해운대 도로 구멍",
                "priority": 64,
                "department": "road",
                "conditions": {"keywords": ["포트홀"], "districts": ["해운대구"]},
            },
        )
        assert put.status_code == 200 and put.json()["version"] == 3 and put.json()["updated_by"] == "office-kim"

        disabled = await c.post(
            f"{RULES}/haeundae-pothole/disable", headers=staff_headers("lee", roles=("complaint_office",))
        )
        assert disabled.status_code == 200 and disabled.json()["enabled"] is False
        after = (await c.post("/api/v1/routing/preview", json=_preview())).json()
        assert after["rule"]["id"] == "road-damage"
        assert (await c.post(f"{RULES}/haeundae-pothole/enable", headers=KIM)).json()["version"] == 5
        same = await c.patch(f"{RULES}/haeundae-pothole", json={"priority": 64})
        assert same.json()["version"] == 5  # nothing changed, no new version

        rule = (await c.get(f"{RULES}/haeundae-pothole")).json()
        assert [v["version"] for v in rule["versions"]] == [1, 2, 3, 4, 5]
        assert [v["priority"] for v in rule["versions"]] == [5, 65, 64, 64, 64]
        assert [(a["action"], a["actor"]) for a in rule["audit"]] == [
            ("created", "kim"),
            ("updated", "kim"),
            ("updated", "office-kim"),
            ("disabled", "lee"),
            ("enabled", "kim"),
        ]
        assert rule["audit"][3]["changes"] == {"enabled": {"from": True, "to": False}}
        audit = (await c.get(f"{RULES}/audit?limit=5")).json()["items"]
        assert (audit[0]["rule_id"], audit[0]["action"]) == ("haeundae-pothole", "enabled")
        listed = (await c.get(f"{RULES}/?department=road")).json()["items"]
        assert "haeundae-pothole" in [r["id"] for r in listed] and {r["department"] for r in listed} == {"road"}


async def test_bad_input_is_refused_naming_the_field(backend) -> None:
    async with running(backend) as run:
        c = run.client
        good = {"name": "n", "priority": 5, "department": "road", "conditions": {"keywords": ["x"]}}

        async def refused(method, path, json, status=422):
            r = await c.request(method, path, json=json)
            assert r.status_code == status, r.text
            return [f["field"] for f in r.json().get("fields", [])]

        assert await refused("POST", f"{RULES}/", {**good, "department": "nowhere"}) == ["department"]
        assert await refused("POST", f"{RULES}/", {**good, "priority": "high"}) == ["priority"]
        typo = {**good, "conditions": {"keyword": ["x"]}}
        assert await refused("POST", f"{RULES}/", typo) == ["conditions.keyword"]
        assert await refused("POST", f"{RULES}/", {**good, "conditions": {}}) == ["conditions"]
        assert await refused("POST", f"{RULES}/", {**good, "conditions": {"kinds": ["nonsense"]}}) == [
            "conditions.kinds"
        ]
        assert await refused("POST", f"{RULES}/", {**good, "id": "Not A Slug"}) == ["id"]
        assert any("name" in f for f in await refused("POST", f"{RULES}/", {**good, "name": ""}))
        assert await refused("POST", f"{RULES}/", {**good, "id": "waste"}, 409) == []
        assert await refused("POST", f"{RULES}/default/disable", None, 409) == []
        assert await refused("PATCH", f"{RULES}/missing", {"priority": 1}, 404) == []
        assert any("kind" in f for f in await refused("POST", "/api/v1/routing/preview", _preview(kind="bogus")))
        r = await c.patch(f"{RULES}/waste", json={"priority": 1}, headers={"If-Match": "latest"})
        assert r.status_code == 422 and r.json()["fields"][0]["field"] == "If-Match"


async def test_departments_and_handlers_are_managed_with_an_audit_trail(backend) -> None:
    async with running(backend) as run:
        c = run.client
        created = await c.post(
            "/api/v1/routing/departments/",
            headers=KIM,
            json={
                "code": "smart-city",
                "name": "스마트도시과",
                "phone": "051-000-3000",
                "handlers": [{"id": "smart-01", "name": "나스마", "contact": "051-000-3001"}],
            },
        )
        assert created.status_code == 201, created.text
        added = await c.post(
            "/api/v1/routing/departments/smart-city/handlers",
            headers=KIM,
            json={"id": "smart-02", "name": "이도시", "contact": "051-000-3002", "guardian": True},
        )
        assert added.status_code == 201 and len(added.json()["handlers"]) == 2
        clash = await c.post(
            "/api/v1/routing/departments/smart-city/handlers",
            json={"id": "traffic-01", "name": "중복", "contact": "051-000-3003"},
        )
        assert clash.status_code == 409
        off = await c.patch("/api/v1/routing/departments/smart-city/handlers/smart-01", json={"on_duty": False})
        assert off.json()["handlers"][0]["on_duty"] is False
        renamed = await c.put("/api/v1/routing/departments/smart-city", json={"name": "스마트시티과"})
        assert renamed.json()["name"] == "스마트시티과" and len(renamed.json()["handlers"]) == 2
        shown = (await c.get("/api/v1/routing/departments/smart-city")).json()
        assert [a["action"] for a in shown["audit"]] == ["created", "handler_added", "handler_updated", "updated"]
        assert shown["version"] == 4 and all(h["load"] == 0 for h in shown["handlers"])
        bad = await c.patch("/api/v1/routing/departments/smart-city/handlers/smart-01", json={"contact": ""})
        assert bad.status_code == 422 and "contact" in bad.json()["fields"][0]["field"]
        rule = await c.post(
            f"{RULES}/",
            json={
                "name": "스마트",
                "priority": 7,
                "department": "smart-city",
                "conditions": {"keywords": ["공공와이파이"]},
            },
        )
        assert rule.status_code == 201 and rule.json()["id"].startswith("smart-city-")
        assert (await c.get("/api/v1/routing/departments/nowhere")).status_code == 404

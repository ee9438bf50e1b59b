"""Every route of the whole system is guarded: no identity → 401 (pages: the sign-in redirect), a valid
identity without the route's role → 403; the public allow-list in ``minwon.auth`` is the only exception.
Adding a route without a ``requires`` guard makes this test fail."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from apps.host import build_app
from minwon import auth
from minwon.settings import Settings
from tests.factories import staff_headers

# Routes whose public rule needs a query parameter (the citizen's check code): called without it, they are
# staff routes whose handler checks the identity itself (department scope or role).
SELF_CHECKED = {
    ("GET", "/api/v1/complaints/{receipt_no:str}"),
    ("POST", "/api/v1/complaints/{receipt_no:str}/confirm"),
    ("POST", "/api/v1/complaints/{receipt_no:str}/withdraw"),
    ("GET", "/api/v1/surveys/reports/{name:str}"),
    ("GET", "/api/v1/complaints/{receipt_no:str}/attachments"),
    ("POST", "/api/v1/complaints/{receipt_no:str}/attachments"),
    ("GET", "/api/v1/complaints/{receipt_no:str}/attachments/{attachment_id:str}"),
    ("GET", "/api/v1/complaints/{receipt_no:str}/attachments/{attachment_id:str}/thumbnail"),
}


def _concrete(path: str) -> str:
    path = re.sub(r"\{[^}:]+:int\}", "2026", path)
    path = re.sub(r"\{[^}:]+:path\}", "x.css", path)
    return re.sub(r"\{[^}]+\}", "x", path)


def _routes(app: Any) -> list[tuple[str, str, Any]]:
    found = []
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            for method in sorted(getattr(handler, "http_methods", ())):
                if method not in ("HEAD", "OPTIONS"):
                    found.append((method, route.path, handler))
    return found


def _required_roles(handler: Any) -> tuple[str, ...] | None:
    guards = [g for layer in handler.ownership_layers for g in (getattr(layer, "guards", None) or ())]
    roles = [g.roles for g in guards if hasattr(g, "roles")]
    return tuple(set(roles[0]).intersection(*roles[1:])) if roles else None


@pytest.fixture
async def system(tmp_path: Path):
    app = build_app(Settings(data_dir=tmp_path / "var", outbox_interval_seconds=0.2, timer_interval_seconds=0.2))
    async with AsyncTestClient(app, timeout=30) as client:
        yield app, client


async def test_every_route_needs_an_identity_and_its_role(system) -> None:
    app, client = system
    routes = _routes(app)
    assert len(routes) > 80
    unguarded, answers, wrong_role = [], [], []
    for method, path, handler in routes:
        url = _concrete(path)
        public = auth.is_public(method, url) or auth.is_agency(method, url)
        roles = _required_roles(handler)
        if not public and not auth.is_session(method, url) and roles is None and (method, path) not in SELF_CHECKED:
            unguarded.append(f"{method} {path}")
        if public:
            continue
        r = await client.request(method, url, follow_redirects=False)
        if auth.is_session(method, url):
            if not (r.status_code == 303 and "/console/login" in r.headers.get("location", "")):
                answers.append(f"{method} {path} -> {r.status_code} (expected the sign-in redirect)")
            continue
        if r.status_code != 401 or r.json().get("error") != "unauthenticated":
            answers.append(f"{method} {path} -> {r.status_code}")
        if roles is not None and set(roles) != set(auth.ROLES):
            outsider = next(role for role in auth.ROLES if role not in roles)
            r = await client.request(
                method, url, headers=staff_headers("outsider", roles=(outsider,)), follow_redirects=False
            )
            if r.status_code != 403:
                wrong_role.append(f"{method} {path} as {outsider} -> {r.status_code}")
    assert unguarded == [], "routes without a requires() guard"
    assert answers == [], "routes that answered without an identity"
    assert wrong_role == [], "routes that let a wrong role through"


async def test_the_refused_scenarios_of_the_trust_issue(system) -> None:
    _, client = system
    rule = {"id": "grab-all", "name": "x", "priority": 1, "department": "road", "conditions": {"kinds": ["grievance"]}}
    assert (await client.post("/api/v1/routing/rules", json=rule)).status_code == 401
    handler = staff_headers("road-01", department="road", roles=("handler",))
    assert (await client.post("/api/v1/routing/rules", json=rule, headers=handler)).status_code == 403
    assert (await client.post("/api/v1/complaints/2026-BUSAN-0000001/confirm")).status_code == 401
    forged = dict(handler)
    forged["Authorization"] = forged["Authorization"][:-4] + "AAAA"
    r = await client.get("/api/v1/complaints", headers=forged)
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
    deep = "[" * 5000 + "]" * 5000  # the guard answers before the body is even read
    assert (
        await client.post("/api/v1/routing/rules", content=deep, headers={"content-type": "application/json"})
    ).status_code == 401


async def test_department_scope_on_lists_and_views(system) -> None:
    _, client = system
    office = staff_headers()
    handler = staff_headers("waste-01", department="waste", roles=("handler",))
    r = await client.get("/api/v1/routing/assignments", headers=handler)
    assert r.status_code == 200
    assert all(a["department"] == "waste" for a in r.json()["items"])
    assert (await client.get("/api/v1/routing/departments", headers=office)).status_code == 200
    r = await client.patch(
        "/api/v1/routing/departments/road/handlers/road-01",
        json={"on_duty": False},
        headers=staff_headers("waste-lead", department="waste", roles=("team_lead",)),
    )
    assert r.status_code == 403

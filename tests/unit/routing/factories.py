"""Test data for routing's domain: complaints' facts, rules, departments."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from services.routing import domain
from services.routing.domain import Conditions, Department, Facts, Official, Rule
from services.routing.settings import DATA_DIR

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
SOURCE = "test/routing"


def facts(**overrides: Any) -> Facts:
    base: dict[str, Any] = {
        "kind": "other",
        "category": "기타",
        "district": "부산광역시 동래구 명장동",
        "channel": "online",
        "title": "",
        "body": "",
    }
    return Facts(**{**base, **overrides})


def rule(id: str, priority: int, department: str, **conditions: Any) -> Rule:
    enabled = conditions.pop("enabled", True)
    return Rule(
        id,
        f"rule {id}",
        priority,
        department,
        Conditions(**{k: tuple(v) for k, v in conditions.items()}),
        enabled=enabled,
    )


def official(id: str, *, on_duty: bool = True, guardian: bool = False) -> Official:
    return Official(id, f"담당자 {id}", "051-000-0000", on_duty=on_duty, guardian=guardian)


def department(code: str, *officials: Official) -> Department:
    return Department(code, f"부서 {code}", "051-000-0001", officials)


def sample_rules() -> list[Rule]:
    """The rule table shipped with the service (services/routing/data/rules.json)."""
    return [Rule.from_doc(r) for r in json.loads((DATA_DIR / "rules.json").read_text(encoding="utf-8"))]


def sample_departments() -> dict[str, Department]:
    docs = json.loads((DATA_DIR / "departments.json").read_text(encoding="utf-8"))
    return {d["code"]: Department.from_doc(d) for d in docs}


def routed(
    receipt_no: str = "2026-BUSAN-0000001",
    *,
    kind: str = "other",
    priority: bool = False,
    department: str = "traffic",
    received_at: str = "2026-03-02T01:00:00+00:00",
    rule_id: str = "illegal-parking",
) -> domain.Assignment:
    """A complaint routed to ``department`` and waiting for a handler."""
    found = domain.Match(rule(rule_id, 60, department, keywords=["x"]), ())
    a, _ = domain.route(
        facts(kind=kind),
        found,
        department_of(department),
        receipt_no=receipt_no,
        priority=priority,
        received_at=received_at,
        cause=f"ev-{receipt_no}",
        now=NOW,
        source=SOURCE,
    )
    return a


def department_of(code: str) -> Department:
    return department(code, official(f"{code}-a"), official(f"{code}-b", guardian=True))

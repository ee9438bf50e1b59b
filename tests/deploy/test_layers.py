"""The layers stay apart: ``libs/`` imports neither ``services/`` nor ``apps/``, no service imports
``apps/`` or another service, and the registry lists every service with the prefixes it declares."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from apps.registry import PREFIXES, REGISTRY, SERVICES

ROOT = Path(__file__).resolve().parents[2]


def _imported(path: Path) -> set[str]:
    """The top-level modules and packages ``path`` imports (``services.intake`` stays two parts)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(".".join(a.name.split(".")[:2]) for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(".".join(node.module.split(".")[:2]))
    return found


def test_libs_import_neither_services_nor_apps() -> None:
    offending = {
        str(p.relative_to(ROOT)): sorted(m for m in _imported(p) if m.split(".")[0] in ("services", "apps"))
        for p in (ROOT / "libs").rglob("*.py")
    }
    assert {p: ms for p, ms in offending.items() if ms} == {}


@pytest.mark.parametrize("name", [*SERVICES, "web"])
def test_a_service_imports_no_other_service_nor_the_application(name: str) -> None:
    offending = {}
    for path in (ROOT / "services" / name).rglob("*.py"):
        bad = sorted(
            m for m in _imported(path) if m == "apps" or (m.startswith("services.") and m != f"services.{name}")
        )
        if bad:
            offending[str(path.relative_to(ROOT))] = bad
    assert offending == {}


def test_the_registry_lists_every_service_with_the_prefixes_it_declares() -> None:
    packages = sorted(p.parent.name for p in (ROOT / "services").glob("*/bootstrap.py"))
    assert sorted(SERVICES) == packages
    for entry in REGISTRY.services:
        declared = importlib.import_module(f"services.{entry.name}.bootstrap").PREFIXES
        assert entry.prefixes == declared and declared, entry.name
        assert all(PREFIXES[p] == entry.name for p in declared)
    assert REGISTRY.service_of("/api/v1/complaints/2026-0001") == "intake"
    assert REGISTRY.service_of("/console/") == "host"

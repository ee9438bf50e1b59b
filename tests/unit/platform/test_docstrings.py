"""Attribute docstrings sit right under the attribute they describe: a definition slipped in between two
moves every docstring after it onto the wrong name (the documentation tools read them by position)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def _stacked(source: str) -> list[int]:
    """The lines where a string statement follows another one directly (a docstring with no owner)."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        body = getattr(node, "body", None)
        if not isinstance(body, list):
            continue
        for first, second in zip(body, body[1:], strict=False):
            if _is_text(first) and _is_text(second):
                lines.append(second.lineno)
    return lines


def _is_text(node: ast.stmt) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)


def test_a_docstring_with_no_attribute_above_it_is_found() -> None:
    source = 'A = 1\n"""about A"""\nB = 2\nC = 3\n"""about C"""\n"""about B, misplaced"""\n'
    assert _stacked(source) == [6]
    assert _stacked('A = 1\n"""about A"""\nB = 2\n"""about B"""\n') == []


def test_no_module_of_the_project_stacks_docstrings() -> None:
    files = [p for part in ("libs", "services", "bench") for p in sorted((ROOT / part).rglob("*.py"))]
    assert len(files) > 50
    stacked = {str(p.relative_to(ROOT)): lines for p in files if (lines := _stacked(p.read_text(encoding="utf-8")))}
    assert stacked == {}

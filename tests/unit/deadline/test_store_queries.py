"""The embedded store's hot queries are rewritten so SQLite can use the expression indexes."""

from __future__ import annotations

import pytest

from minwon.docstore import _compile
from services.deadline.store import _inline


def test_json_paths_are_written_literally_and_values_stay_bound() -> None:
    sql, params = _inline(*_compile({"next_fire_at": {"$lte": "2026-03-10T01:00:00.000000+00:00"}}))
    assert sql == """json_extract(doc, '$."next_fire_at"') <= ?"""
    assert params == ["2026-03-10T01:00:00.000000+00:00"]


def test_every_operator_keeps_its_values_in_order() -> None:
    where = {"status": "open", "due_at": {"$lt": "x"}, "_id": {"$gt": "R1"}, "department": {"$ne": "a"},
             "kind": {"$in": ["k1", "k2"]}, "handler.id": {"$exists": True}, "closed_at": None}
    sql, params = _inline(*_compile(where))
    assert sql.count("?") == len(params) and "json_extract(doc, ?)" not in sql
    assert params == ["open", "x", "R1", "a", "k1", "k2"]
    assert """json_type(doc, '$."handler"."id"') IS NOT NULL""" in sql
    assert """json_extract(doc, '$."closed_at"') IS NULL""" in sql


def test_a_value_that_looks_like_a_path_is_never_inlined() -> None:
    sql, params = _inline("""json_extract(doc, ?) = ?""", ['$."status"', "'; DROP TABLE x; --"])
    assert sql == """json_extract(doc, '$."status"') = ?""" and params == ["'; DROP TABLE x; --"]
    with pytest.raises(ValueError):
        _inline("json_extract(doc, ?) = ?", ["$.x"])  # one parameter too few for the placeholders
    kept, bound = _inline("json_extract(doc, ?) = ?", ["not a path", "v"])
    assert kept == "json_extract(doc, ?) = ?" and bound == ["not a path", "v"]

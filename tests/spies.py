"""Spies on the real document stores, for tests that assert which queries a path makes."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest

from minwon.docstore import MongoCollection, SqliteCollection


def finds(
    monkeypatch: pytest.MonkeyPatch, collection: str, matching: Callable[[Mapping[str, Any]], bool]
) -> list[dict[str, Any]]:
    """The filters of the ``find`` calls on ``collection`` that ``matching`` picks, on either backend, as they
    happen (a query other than by ``_id`` scans on a server without the index, so a test counts them)."""
    seen: list[dict[str, Any]] = []

    def counting(find: Any) -> Any:
        async def counted(self: Any, where: Any = None, *args: Any, **kwargs: Any) -> Any:
            if self.name == collection and matching(where or {}):
                seen.append(where)
            return await find(self, where, *args, **kwargs)

        return counted

    for cls in (SqliteCollection, MongoCollection):
        monkeypatch.setattr(cls, "find", counting(cls.find))
    return seen

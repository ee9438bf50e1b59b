"""Spies on the real document stores, for tests that assert which reads a path makes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from minwon.docstore import MongoCollection, SqliteCollection


def _spy(monkeypatch: pytest.MonkeyPatch, method: str, picks: Callable[[str, Any], bool]) -> list[Any]:
    """The first argument of every ``method`` call that ``picks(collection name, argument)`` keeps, on either
    backend, in the order they happen."""
    seen: list[Any] = []

    def counting(call: Any) -> Any:
        async def counted(self: Any, arg: Any = None, *args: Any, **kwargs: Any) -> Any:
            if picks(self.name, arg):
                seen.append(arg)
            return await call(self, arg, *args, **kwargs)

        return counted

    for cls in (SqliteCollection, MongoCollection):
        monkeypatch.setattr(cls, method, counting(getattr(cls, method)))
    return seen


def finds(
    monkeypatch: pytest.MonkeyPatch, collection: str, matching: Callable[[dict[str, Any]], bool]
) -> list[dict[str, Any]]:
    """The filters of the ``find`` calls on ``collection`` that ``matching`` picks (a query other than by
    ``_id`` scans on a server without the index, so a test counts them)."""
    return _spy(monkeypatch, "find", lambda name, where: name == collection and matching(where or {}))


def calls(monkeypatch: pytest.MonkeyPatch, method: str, collection: str) -> list[Any]:
    """The first argument of each ``method`` call on ``collection`` (an id for ``get``, a document for a
    ``create`` or an ``update``)."""
    return _spy(monkeypatch, method, lambda name, arg: name == collection)


def gets(monkeypatch: pytest.MonkeyPatch, collection: str) -> list[str]:
    """The ids read one by one from ``collection``."""
    return calls(monkeypatch, "get", collection)

"""Errors a client can act on, and their JSON shape.

Every 4xx body is ``{"error": code, "message": text, "fields": [{"field", "message"}]}``
so a client always knows which field to fix.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


@dataclass
class DomainError(Exception):
    """A rule refused the request; ``status`` is the HTTP status it maps to."""

    code: str
    message: str
    status: int = 422
    field: str | None = None
    details: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __str__(self) -> str:
        return self.message

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"error": self.code, "message": self.message}
        if self.field:
            out["fields"] = [{"field": self.field, "message": self.message}]
        out.update(self.details)
        return out


class NotFound(DomainError):
    def __init__(self, what: str, id: str) -> None:
        super().__init__("not_found", f"{what} {id} not found", 404)


class Conflict(DomainError):
    def __init__(self, message: str, **details: Any) -> None:
        super().__init__("conflict", message, 409, details=details)


class Invalid(DomainError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__("invalid", message, 422, field=field)


class TransientError(Exception):
    """A failure that goes away by itself (contention, a dependency restarting): retry, never dead-letter."""


class Unavailable(DomainError):
    def __init__(self, message: str, retry_after: int = 5) -> None:
        super().__init__("unavailable", message, 503, details={"retry_after": retry_after})

"""The event envelope every service speaks: CloudEvents 1.0, structured JSON mode.

An event's ``subject`` is the complaint's receipt number, which is also the
message key, so one complaint's events stay in order on every partition.
Events derived from another event get a deterministic id (:func:`derive_id`),
so a redelivered or replayed cause produces the same effect id and the
consumer's inbox drops it.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

SPEC_VERSION = "1.0"
_NAMESPACE = uuid.UUID("6f1c7a52-3c1e-5b8e-9a7d-6d696e776f6e")  # "minwon"


def derive_id(*parts: object) -> str:
    """A stable id for an effect of ``parts`` (the cause's id, the effect's name, ...)."""
    return str(uuid.uuid5(_NAMESPACE, "|".join(str(p) for p in parts)))


def event_type(domain: str, name: str) -> str:
    """``kr.minwon.<domain>.<name>.v1``."""
    return f"kr.minwon.{domain}.{name}.v1"


class Event(BaseModel):
    """A CloudEvents 1.0 envelope with JSON ``data``."""

    model_config = ConfigDict(frozen=True, extra="allow")

    id: str
    source: str
    type: str
    specversion: str = SPEC_VERSION
    time: datetime
    subject: str
    datacontenttype: str = "application/json"
    data: dict[str, Any] = Field(default_factory=dict)
    traceparent: str | None = None

    @classmethod
    def new(
        cls,
        type: str,
        *,
        source: str,
        subject: str,
        data: dict[str, Any],
        time: datetime,
        id: str | None = None,
    ) -> Event:
        return cls(
            id=id or str(uuid.uuid4()),
            type=type,
            source=source,
            subject=subject,
            data=data,
            time=time,
        )

    @property
    def name(self) -> str:
        """The short name: ``kr.minwon.complaint.received.v1`` -> ``complaint.received``."""
        parts = self.type.split(".")
        return ".".join(parts[2:-1])

    def to_json(self) -> bytes:
        return self.model_dump_json(exclude_none=True).encode()

    def to_doc(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)

    @classmethod
    def from_json(cls, raw: bytes | str) -> Event:
        return cls.model_validate_json(raw)


def utcnow() -> datetime:
    return datetime.now(UTC)

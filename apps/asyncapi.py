"""The AsyncAPI document of every internal topic (``docs/asyncapi-internal.yaml``), generated from the
event models (:mod:`minwon.contracts`) and the services' handler tables: one message per event type
and topic, with the service that publishes it and the consumer groups that read it. The public
stream for other agencies has its own document (``docs/asyncapi.yaml``,
:mod:`services.notification.agencies.public`).

Regenerate: ``python -m apps.asyncapi docs``.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal, cast
from urllib.parse import unquote

import yaml
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, create_model

from minwon import contracts, topics
from services.compensation.handlers import Compensation
from services.deadline.handlers import Deadlines
from services.intake.handlers import Intake
from services.notification.agencies import public
from services.notification.handlers import Notifier
from services.routing.handlers import Routing
from services.survey.handlers import Surveys

VERSION = "1.0.0"
DOC_SERVER = "kafka.minwon.internal:9092"
"""The server named in the document: each deployment has its own brokers."""

CONSUMERS: tuple[tuple[str, Iterable[str]], ...] = (
    ("minwon-intake", Intake.HANDLES),
    ("minwon-routing", Routing.HANDLES),
    ("minwon-deadline", Deadlines.HANDLES),
    ("minwon-notification", Notifier.HANDLES),
    ("minwon-notification-public", public.SOURCES),
    ("minwon-notification-webhooks", public.EVENTS),
    ("minwon-compensation", Compensation.HANDLES),
    ("minwon-survey", Surveys.HANDLES),
)
"""Each service's consumer group and the event types its table handles."""


class Envelope(BaseModel):
    """The CloudEvents 1.0 envelope (structured JSON mode) of every event."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="Unique per event; an effect's id is derived from its cause, so a replay repeats it.")
    source: str = Field(description="The publishing service, e.g. /minwon/intake.")
    specversion: Literal["1.0"] = "1.0"
    type: str
    time: AwareDatetime
    subject: str = Field(description="The complaint's receipt number (also the Kafka key).")
    datacontenttype: Literal["application/json"] = "application/json"
    traceparent: str | None = Field(None, description="W3C trace context.")


def internal_types() -> dict[str, tuple[str, ...]]:
    """Every internal event type and its topics (the public stream's types are in their own document)."""
    return {
        type: on
        for type, on in contracts.TOPICS_OF.items()
        if topics.PUBLIC not in on
        and type in contracts.MODELS
        and type.startswith("kr.minwon.")
        and ".test." not in type
    }


def readers(type: str, consumers: Iterable[tuple[str, Iterable[str]]] = CONSUMERS) -> list[str]:
    return [group for group, handled in consumers if type in set(handled)]


def _envelope(kind: str) -> type[BaseModel]:
    name = (
        "".join(
            part.title() for part in kind.removeprefix("kr.minwon.").removesuffix(".v1").replace("_", ".").split(".")
        )
        + "Event"
    )
    literal: Any = cast(Any, Literal)[kind]  # the type's name as the envelope's constant
    model: type[BaseModel] = create_model(
        name, __base__=Envelope, type=(literal, ...), data=(contracts.model_of(kind), ...)
    )
    return model


def asyncapi() -> Any:
    """The AsyncAPI 3.0 specification, from a documentation-only FastStream broker (never started)."""
    from faststream.kafka import KafkaBroker
    from faststream.specification import AsyncAPI

    broker = KafkaBroker(
        DOC_SERVER, description="Each deployment's Kafka cluster (SASL per service in production: docs/deployment.md)."
    )
    for type, on in internal_types().items():
        model = contracts.model_of(type)
        for topic in on:
            owner = topics.spec(topic).owner
            groups = readers(type) if topic == on[0] else []
            broker.publisher(
                topic,
                schema=_envelope(type),
                title=type if len(on) == 1 else f"{type}@{topic}",
                description=(model.__doc__ or "").strip().replace("\n", " ")
                + f" Published by: {owner}. Read by: {', '.join(groups) or 'no service (operators and agencies)'}."
                + " Key: the receipt number. Content type: application/cloudevents+json.",
            )
    return AsyncAPI(
        broker,
        title="minwon internal events",
        version=VERSION,
        description=(
            "The events minwon's six services exchange: CloudEvents 1.0 in structured JSON mode, "
            "one model per event type (libs/minwon/contracts.py), checked before an event is "
            "stored in an outbox or published. No personal data on any topic but the restricted "
            "minwon.private.complaints.v1, where it travels sealed. Versioning: additive within v1."
        ),
        schema_version="3.0.0",
    ).to_specification()


@functools.cache
def _text() -> str:
    spec = json.loads(asyncapi().to_json())
    for path in (("channels",), ("operations",), ("components", "messages"), ("components", "schemas")):
        parent = spec
        for key in path[:-1]:
            parent = parent.get(key, {})
        if path[-1] in parent:
            parent[path[-1]] = dict(sorted(parent[path[-1]].items()))
    spec["servers"] = {"internal": spec["servers"].pop("development")}
    return json.dumps(spec, ensure_ascii=False).replace("#/servers/development", "#/servers/internal")


def asyncapi_json() -> dict[str, Any]:
    return json.loads(_text())


def asyncapi_yaml() -> str:
    return yaml.safe_dump(asyncapi_json(), sort_keys=False, allow_unicode=True, width=110)


def write_docs(docs: Path) -> Path:
    path = docs / "asyncapi-internal.yaml"
    path.write_text(asyncapi_yaml(), encoding="utf-8")
    return path


def covered(spec: Mapping[str, Any]) -> set[tuple[str, str]]:
    """(event type, topic) of every message in a document."""
    out = set()
    for channel in spec["channels"].values():
        for ref in channel["messages"].values():
            message = spec["components"]["messages"][unquote(ref["$ref"].split("/")[-1])]
            schema = spec["components"]["schemas"][message["payload"]["$ref"].split("/")[-1]]
            out.add((schema["properties"]["type"]["const"], channel["address"]))
    return out


if __name__ == "__main__":
    print(write_docs(Path(sys.argv[1] if len(sys.argv) > 1 else "docs")))

"""docs/asyncapi-internal.yaml is what the event models and the handler tables generate, and together with the
public stream's document (docs/asyncapi.yaml) it covers every topic and every event type."""

from __future__ import annotations

from pathlib import Path

import yaml

from apps import asyncapi
from minwon import contracts, topics
from services.notification.agencies import public

DOCS = Path(__file__).resolve().parents[2] / "docs"
REGENERATE = "regenerate with: .venv/bin/python -m apps.asyncapi docs"


def test_the_committed_internal_document_is_the_generated_one() -> None:
    committed = (DOCS / "asyncapi-internal.yaml").read_text("utf-8")
    assert committed == asyncapi.asyncapi_yaml(), REGENERATE
    assert yaml.safe_load(committed)["asyncapi"].startswith("3.")


def test_the_two_documents_cover_every_topic_and_every_type_on_each_of_its_topics() -> None:
    internal = asyncapi.covered(yaml.safe_load((DOCS / "asyncapi-internal.yaml").read_text("utf-8")))
    public_doc = asyncapi.covered(yaml.safe_load((DOCS / "asyncapi.yaml").read_text("utf-8")))
    documented = internal | public_doc
    expected = {(type, topic) for type, on in contracts.TOPICS_OF.items() if ".test." not in type for topic in on}
    assert documented == expected
    assert {topic for _, topic in documented} == {t.name for t in topics.TOPICS}
    assert {topic for _, topic in public_doc} == {topics.PUBLIC}


def test_every_message_names_its_readers_from_the_handler_tables() -> None:
    spec = asyncapi.asyncapi_json()
    closed = spec["channels"][contracts.COMPLAINT_CLOSED]["description"]
    assert "Published by: intake." in closed
    for group in (
        "minwon-routing",
        "minwon-deadline",
        "minwon-notification",
        "minwon-notification-public",
        "minwon-survey",
    ):
        assert group in closed
    assert "minwon-compensation" not in closed  # compensation does not look at closures
    assert asyncapi.readers(contracts.PUBLIC_COMPLAINT_CLOSED) == ["minwon-notification-webhooks"]
    assert set(public.SOURCES) <= set(contracts.MODELS)

"""Shared fixtures.

- ``infra``: a real Kafka broker and a real MongoDB-protocol server (env,
  testcontainers, or the local ones from ``deploy/local``). Missing
  infrastructure skips on a laptop and fails under ``CI=true``.
- ``identity``: a real OpenID Connect provider (Keycloak from ``deploy/local``, or
  MINWON_OIDC_ISSUER) serving the realm ``deploy/keycloak/realm-minwon.json``; skips on a
  laptop without one and fails under ``CI=true``, like ``infra``.
- ``backend``: parametrised over ``embedded`` and ``distributed``; builds
  isolated buses and stores (a fresh topic prefix and database names per test).

Kafka keeps no order between topics (nor between a topic's partitions): a test that publishes on two
topics and asserts on what the first one's effect allows waits for that effect before publishing the
second (the embedded log hands a group its records in one order, so there it always holds).
``tests/kafka_lag.py`` tells when a group has handled all of a topic.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict

from minwon import contracts, topics
from minwon.bus import Bus, KafkaBus, RetryPolicy, SqliteBus
from minwon.docstore import DocumentStore, MongoStore, SqliteStore
from minwon.settings import Settings

_used: dict[str, str] = {}
_used_identity: dict[str, str] = {}


class TestData(BaseModel):
    """The data of the event types the mechanism tests (bus, outbox, Kafka security) publish: any fields."""

    __test__ = False
    model_config = ConfigDict(extra="allow")


for _type in ("kr.minwon.test.happened.v1", "kr.minwon.test.filed.v1", "kr.minwon.test.security.v1"):
    contracts.register(_type, *(t.name for t in topics.TOPICS))(TestData)


def _ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


@pytest.fixture(scope="session")
def infra() -> Iterator[Any]:
    from tests import _infra

    try:
        found = _infra.ensure_infrastructure()
    except Exception as exc:  # noqa: BLE001
        if _ci():
            pytest.fail(f"CI=true and no Kafka/MongoDB could be started: {exc}", pytrace=False)
        pytest.skip(f"no Kafka/MongoDB available: {exc}")
    _used.update(provider=found.provider, kafka=found.kafka_bootstrap, mongodb=found.mongodb_uri)
    yield found


@pytest.fixture(scope="session")
def identity() -> Iterator[Any]:
    from tests import _infra

    try:
        found = _infra.ensure_identity()
    except Exception as exc:  # noqa: BLE001
        if _ci():
            pytest.fail(f"CI=true and no OpenID Connect provider could be started: {exc}", pytrace=False)
        pytest.skip(f"no OpenID Connect provider available: {exc}")
    _used_identity.update(provider=found.provider, issuer=found.issuer)
    yield found


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _used:
        terminalreporter.write_line(
            f"infrastructure used: {_used['provider']} (kafka {_used['kafka']}, mongodb {_used['mongodb']})"
        )
    else:
        terminalreporter.write_line("infrastructure used: none (no test needed Kafka or MongoDB)")
    if _used_identity:
        terminalreporter.write_line(
            f"identity provider used: {_used_identity['provider']} (issuer {_used_identity['issuer']})"
        )
    else:
        terminalreporter.write_line("identity provider used: none (no test needed OpenID Connect)")
    if _used and not os.environ.get("MINWON_TEST_MONGODB_URI"):
        terminalreporter.write_line(
            "MongoDB proper: not reachable (MINWON_TEST_MONGODB_URI unset): the atomic store "
            "mode's concurrency contract did not run; its semantics ran on FerretDB"
        )


@dataclass
class Backend:
    """Builds buses, stores and settings for one test on one backend."""

    name: str
    tmp: Path
    infra: Any = None
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:10])
    _closers: list[Any] = field(default_factory=list)

    @property
    def distributed(self) -> bool:
        return self.name == "distributed"

    def settings(self, **overrides: Any) -> Settings:
        base: dict[str, Any] = {
            "backend": self.name,
            "data_dir": self.tmp / "var",
            "outbox_interval_seconds": 0.2,
            "timer_interval_seconds": 0.2,
        }
        if self.distributed:
            base.update(
                kafka_bootstrap_servers=self.infra.kafka_bootstrap,
                mongodb_uri=self.infra.mongodb_uri,
                kafka_topic_prefix=f"t{self.tag}.",
                kafka_partitions=2,
                database_prefix=f"t{self.tag}_",
            )
        return Settings(**{**base, **overrides})

    def bus(self) -> Bus:
        retry = RetryPolicy(attempts=3, first_delay=0.05, max_delay=0.5)
        if self.distributed:
            bus: Bus = KafkaBus(
                self.infra.kafka_bootstrap,
                client_id=f"test-{self.tag}",
                prefix=f"t{self.tag}.",
                partitions=2,
                retry=retry,
            )
        else:
            bus = SqliteBus(self.tmp / "var" / "events.db", poll_interval=0.05, retry=retry)
        return bus

    def store(self, service: str) -> DocumentStore:
        if self.distributed:
            store: DocumentStore = MongoStore(self.infra.mongodb_uri, f"t{self.tag}_{service}")
            self._closers.append(store)
        else:
            store = SqliteStore(self.tmp / "var" / f"{service}.db")
        return store

    async def cleanup(self) -> None:
        for store in self._closers:
            try:
                await store.drop()
                await store.close()
            except Exception:  # noqa: BLE001
                pass


@pytest.fixture(params=["embedded", "distributed"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    found = request.getfixturevalue("infra") if request.param == "distributed" else None
    b = Backend(request.param, tmp_path, found)
    yield b
    await b.cleanup()

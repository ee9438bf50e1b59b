"""Soak fixtures: the sizes, the summaries printed at the end, and the distributed soak's own
Kafka + FerretDB (never the shared instance other tests use: the soak stops and restarts them).

The own instance is ``deploy/local/infra.sh`` with ``MINWON_INFRA_DIR=/tmp/minwon-soak-infra``,
Kafka on 29092 and FerretDB on 27217 (``MINWON_SOAK_INFRA_DIR``, ``MINWON_SOAK_KAFKA_PORT``,
``MINWON_SOAK_FERRETDB_PORT`` change them). It is brought up when missing and taken down
after the session if the session brought it up (``MINWON_SOAK_KEEP_INFRA=1`` keeps it).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.soak.harness import LocalInfra, SoakConfig

_summaries: list[str] = []


@pytest.fixture(scope="session")
def soak_config() -> SoakConfig:
    return SoakConfig.from_env()


@pytest.fixture(scope="session")
def summaries() -> list[str]:
    return _summaries


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for text in _summaries:
        terminalreporter.write_line("")
        for line in text.splitlines():
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def soak_infra() -> Iterator[LocalInfra]:
    infra = LocalInfra(
        env={
            "MINWON_INFRA_DIR": os.environ.get("MINWON_SOAK_INFRA_DIR", "/tmp/minwon-soak-infra"),
            "MINWON_KAFKA_PORT": os.environ.get("MINWON_SOAK_KAFKA_PORT", "29092"),
            "MINWON_FERRETDB_PORT": os.environ.get("MINWON_SOAK_FERRETDB_PORT", "27217"),
        }
    )
    was_running = infra.running()
    if not was_running:
        try:
            infra.up()
        except Exception as exc:  # noqa: BLE001
            if os.environ.get("CI", "").lower() == "true":
                pytest.fail(f"CI=true and the soak's Kafka/FerretDB could not be started: {exc}", pytrace=False)
            pytest.skip(f"the soak's own Kafka/FerretDB could not be started: {exc}")
    yield infra
    if not was_running and os.environ.get("MINWON_SOAK_KEEP_INFRA") != "1":
        infra.down()

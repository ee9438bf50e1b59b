"""Soak fixtures: the sizes, the summaries printed at the end, and the distributed soak's own
Kafka + FerretDB (never the shared instance other tests use: the soak stops and restarts them).

The own instance is ``deploy/local/infra.sh`` with ``MINWON_INFRA_DIR=/tmp/minwon-soak-infra``,
Kafka on 49092 and FerretDB on 47017 (``MINWON_SOAK_INFRA_DIR``, ``MINWON_SOAK_KAFKA_PORT``,
``MINWON_SOAK_FERRETDB_PORT`` change them). It is brought up when missing and taken down
after the session if the session brought it up (``MINWON_SOAK_KEEP_INFRA=1`` keeps it).
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests._infra import INFRA_SCRIPT, REPO_ROOT
from tests.soak.harness import SoakConfig

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


@dataclass
class SoakInfra:
    """One infra.sh run directory of the soak's own: its env, and its outage drills."""

    env: dict[str, str]

    def _script(self, *args: str, timeout: float = 300) -> str:
        proc = subprocess.run(["bash", str(INFRA_SCRIPT), *args], cwd=REPO_ROOT, env={**os.environ, **self.env},
                              capture_output=True, text=True, timeout=timeout, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"infra.sh {' '.join(args)} failed ({proc.returncode}): {proc.stderr[-2000:]}")
        return proc.stdout

    def up(self) -> None:
        self._script("up", timeout=1200)

    def down(self) -> None:
        self._script("down")

    def running(self) -> bool:
        try:
            self._script("status", timeout=60)
        except RuntimeError:
            return False
        return True

    def service_env(self) -> dict[str, str]:
        out = {}
        for line in self._script("env").splitlines():
            m = re.match(r"^\s*export\s+([A-Z_]+)=(.*)$", line)
            if m:
                out[m.group(1)] = m.group(2).strip().strip("'\"")
        return out

    def ferretdb_stop(self) -> None:
        self._script("ferretdb-stop")

    def ferretdb_start(self) -> None:
        self._script("ferretdb-start")

    def kafka_restart(self) -> None:
        self._script("kafka-restart")


@pytest.fixture(scope="session")
def soak_infra() -> Iterator[SoakInfra]:
    infra = SoakInfra(env={
        "MINWON_INFRA_DIR": os.environ.get("MINWON_SOAK_INFRA_DIR", "/tmp/minwon-soak-infra"),
        "MINWON_KAFKA_PORT": os.environ.get("MINWON_SOAK_KAFKA_PORT", "49092"),
        "MINWON_FERRETDB_PORT": os.environ.get("MINWON_SOAK_FERRETDB_PORT", "47017"),
    })
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

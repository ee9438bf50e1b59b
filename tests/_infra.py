"""Real Kafka + MongoDB-wire infrastructure for integration tests.

    from tests._infra import ensure_infrastructure, infrastructure_required, teardown

    infra = ensure_infrastructure()          # Infra(kafka_bootstrap=..., mongodb_uri=..., provider=...)
    ...
    teardown()                               # stops what this module started (testcontainers)

Where the services come from, first match wins:

  (a) KAFKA_BOOTSTRAP_SERVERS and MONGODB_URI both set -> used as they are ("env").
  (b) a Docker engine answers and ``testcontainers`` is importable -> a Kafka (KRaft)
      container and a MongoDB container ("testcontainers").
  (c) ``deploy/local/infra.sh up``: Apache Kafka (KRaft, plain JVM) and FerretDB
      (SQLite backend) on 127.0.0.1, built/fetched into ~/.cache/minwon on first use
      (a few minutes once, then seconds).  They are left running after the tests;
      ``deploy/local/infra.sh down`` stops them.

MINWON_INFRA=env|testcontainers|local forces one provider (no fallback).

Note: FerretDB 1.24 is not MongoDB.  Tests that need features it lacks (e.g. most
aggregation accumulators/stages, $lookup, transactions, change streams, TTL/partial
indexes, Decimal128) should check ``infra.ferretdb`` and skip.

No pytest import at module level: usable from conftest.py, scripts and a REPL.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
INFRA_SCRIPT = REPO_ROOT / "deploy" / "local" / "infra.sh"

# Images for the Docker path (Confluent Platform 7.9 ships Apache Kafka 3.9).
KAFKA_IMAGE = os.environ.get("MINWON_KAFKA_IMAGE", "confluentinc/cp-kafka:7.9.1")
MONGO_IMAGE = os.environ.get("MINWON_MONGO_IMAGE", "mongo:7.0")

_DOCKER_INFO_TIMEOUT = 8.0
_LOCAL_UP_TIMEOUT = float(os.environ.get("MINWON_INFRA_UP_TIMEOUT", "1200"))


@dataclass(frozen=True)
class Infra:
    kafka_bootstrap: str
    mongodb_uri: str
    provider: str

    @property
    def ferretdb(self) -> bool:
        """True when the MongoDB side is FerretDB (the local provider), not a real mongod."""
        return self.provider.startswith("local")

    def as_env(self) -> dict[str, str]:
        """Environment variables the services read."""
        return {"KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap, "MONGODB_URI": self.mongodb_uri}


_lock = threading.Lock()
_current: Infra | None = None
_containers: list[Any] = []
_started_local = False


def _log(msg: str) -> None:
    print(f"[tests._infra] {msg}", file=sys.stderr, flush=True)


def infrastructure_required() -> bool:
    """In CI (CI=true) missing infrastructure is an error, not a reason to skip."""
    return os.environ.get("CI", "").strip().lower() == "true"


# ----------------------------------------------------------------------------- (a) env
def _from_env() -> Infra | None:
    kafka = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "").strip()
    mongo = os.environ.get("MONGODB_URI", "").strip()
    if kafka and mongo:
        return Infra(kafka_bootstrap=kafka, mongodb_uri=mongo, provider="env")
    if kafka or mongo:
        _log("only one of KAFKA_BOOTSTRAP_SERVERS / MONGODB_URI is set; ignoring it and starting both")
    return None


# ----------------------------------------------------------------------------- (b) Docker
def _docker_available() -> tuple[bool, str]:
    if importlib.util.find_spec("testcontainers") is None:
        return False, "python package 'testcontainers' is not installed"
    docker = shutil.which("docker")
    if docker is None:
        return False, "no docker client on PATH"
    try:
        proc = subprocess.run(
            [docker, "info", "--format", "{{.ServerVersion}}"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            timeout=_DOCKER_INFO_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"'docker info' failed: {exc}"
    if proc.returncode != 0:
        err = proc.stderr.decode(errors="replace").strip().splitlines()
        return False, f"no Docker engine answers ({err[-1] if err else 'docker info exit ' + str(proc.returncode)})"
    return True, proc.stdout.decode().strip()


def _from_testcontainers() -> Infra:
    from testcontainers.kafka import KafkaContainer  # type: ignore[import-not-found]
    from testcontainers.mongodb import MongoDbContainer  # type: ignore[import-not-found]

    kafka = (
        KafkaContainer(KAFKA_IMAGE)
        .with_kraft()
        .with_env("KAFKA_AUTO_CREATE_TOPICS_ENABLE", "true")
        .with_env("KAFKA_NUM_PARTITIONS", "3")
        .with_env("KAFKA_LOG_RETENTION_MS", "-1")
        .with_env("KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", "1")
        .with_env("KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", "1")
    )
    mongo = MongoDbContainer(MONGO_IMAGE)
    _log(f"starting containers {KAFKA_IMAGE} and {MONGO_IMAGE} ...")
    try:
        kafka.start(timeout=180)
        _containers.append(kafka)
        mongo.start()
        _containers.append(mongo)
    except Exception:
        _stop_containers()
        raise
    return Infra(
        kafka_bootstrap=kafka.get_bootstrap_server(),
        mongodb_uri=mongo.get_connection_url(),
        provider="testcontainers",
    )


def _stop_containers() -> None:
    while _containers:
        container = _containers.pop()
        try:
            container.stop()
        except Exception as exc:  # noqa: BLE001 - best effort cleanup
            _log(f"could not stop container: {exc}")


# ----------------------------------------------------------------------------- (c) local
def _script_versions() -> str:
    try:
        text = INFRA_SCRIPT.read_text()
    except OSError:
        return "local"
    kafka = re.search(r"^KAFKA_VERSION=(\S+)", text, re.M)
    ferret = re.search(r"^FERRETDB_VERSION=(\S+)", text, re.M)
    return (
        f"local (Apache Kafka {kafka.group(1) if kafka else '?'} KRaft"
        f" + FerretDB {ferret.group(1) if ferret else '?'})"
    )


def _run_script(*args: str, timeout: float, echo: bool) -> str:
    """Run infra.sh; its progress goes to stderr line by line, stdout is returned."""
    if not INFRA_SCRIPT.is_file():
        raise RuntimeError(f"{INFRA_SCRIPT} is missing")
    bash = shutil.which("bash")
    if bash is None:
        raise RuntimeError("bash is required to run deploy/local/infra.sh")
    proc = subprocess.Popen(
        [bash, str(INFRA_SCRIPT), *args],
        cwd=REPO_ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out: list[str] = []
    err: list[str] = []

    def pump_stderr() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            err.append(line)
            if echo:
                sys.stderr.write(line)
                sys.stderr.flush()

    reader = threading.Thread(target=pump_stderr, daemon=True)
    reader.start()
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            out.append(line)
            if echo:
                sys.stderr.write(line)
                sys.stderr.flush()
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise RuntimeError(f"deploy/local/infra.sh {' '.join(args)} did not finish in {timeout:.0f}s") from None
    finally:
        reader.join(timeout=5)
    if proc.returncode != 0:
        tail = "".join(err[-15:]).rstrip()
        raise RuntimeError(f"deploy/local/infra.sh {' '.join(args)} failed (exit {proc.returncode}):\n{tail}")
    return "".join(out)


def _from_local_scripts() -> Infra:
    global _started_local
    _log(f"starting local Kafka + FerretDB with {INFRA_SCRIPT.relative_to(REPO_ROOT)} up")
    _run_script("up", timeout=_LOCAL_UP_TIMEOUT, echo=True)
    _started_local = True
    env: dict[str, str] = {}
    for line in _run_script("env", timeout=30, echo=False).splitlines():
        m = re.match(r"^\s*export\s+([A-Z_]+)=(.*)$", line)
        if m:
            env[m.group(1)] = m.group(2).strip().strip("'\"")
    try:
        return Infra(
            kafka_bootstrap=env["KAFKA_BOOTSTRAP_SERVERS"],
            mongodb_uri=env["MONGODB_URI"],
            provider=_script_versions(),
        )
    except KeyError as exc:
        raise RuntimeError(f"deploy/local/infra.sh env did not print {exc.args[0]}") from None


# ----------------------------------------------------------------------------- API
def ensure_infrastructure() -> Infra:
    """Return a reachable Kafka + MongoDB-wire pair, starting one if needed (cached per process)."""
    global _current
    with _lock:
        if _current is not None:
            return _current
        forced = os.environ.get("MINWON_INFRA", "").strip().lower()
        if forced not in ("", "env", "testcontainers", "docker", "local"):
            raise RuntimeError(f"MINWON_INFRA={forced!r}: use env, testcontainers or local")
        problems: list[str] = []

        if forced in ("", "env"):
            infra = _from_env()
            if infra is not None:
                _current = infra
                _log(f"using {infra.provider}: kafka={infra.kafka_bootstrap} mongodb={infra.mongodb_uri}")
                return infra
            problems.append("env: KAFKA_BOOTSTRAP_SERVERS and MONGODB_URI are not both set")

        if forced in ("", "testcontainers", "docker"):
            ok, why = _docker_available()
            if ok:
                try:
                    _current = _from_testcontainers()
                    _log(f"using testcontainers: kafka={_current.kafka_bootstrap}")
                    return _current
                except Exception as exc:  # noqa: BLE001 - fall through to the local scripts
                    problems.append(f"testcontainers: {type(exc).__name__}: {exc}")
                    _log(f"testcontainers failed ({exc}); trying the local scripts")
            else:
                problems.append(f"testcontainers: {why}")

        if forced in ("", "local"):
            try:
                _current = _from_local_scripts()
                _log(f"using {_current.provider}: kafka={_current.kafka_bootstrap} mongodb={_current.mongodb_uri}")
                return _current
            except Exception as exc:  # noqa: BLE001 - reported below
                problems.append(f"local scripts: {exc}")

        raise RuntimeError(
            "No Kafka/MongoDB infrastructure available for integration tests:\n  - "
            + "\n  - ".join(problems)
            + "\nSet KAFKA_BOOTSTRAP_SERVERS and MONGODB_URI, start Docker, or fix the error of "
            "'bash deploy/local/infra.sh up' (needs Java 11+, and Maven + Go 1.24+ for the first install)."
        )


def teardown(stop_local: bool = False) -> None:
    """Stop what ensure_infrastructure() started.

    Containers are always stopped.  The local Kafka/FerretDB processes are left running
    (the next test run reuses them in about a second) unless ``stop_local`` is true or
    MINWON_INFRA_STOP=1, in which case ``deploy/local/infra.sh down`` removes them and
    their data.
    """
    global _current, _started_local
    with _lock:
        _stop_containers()
        if _started_local and (stop_local or os.environ.get("MINWON_INFRA_STOP") == "1"):
            try:
                _run_script("down", timeout=120, echo=True)
            except RuntimeError as exc:
                _log(str(exc))
            _started_local = False
        _current = None


if __name__ == "__main__":  # python tests/_infra.py  -> start and print the export lines
    found = ensure_infrastructure()
    print(f"# provider: {found.provider}")
    for key, value in found.as_env().items():
        print(f"export {key}={value}")

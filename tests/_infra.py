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

An OpenID Connect provider for the staff-identity tests, the same way:

    identity = ensure_identity()             # Identity(issuer=..., provider=..., users=...)

  (a) MINWON_OIDC_ISSUER set -> that issuer, which must serve the realm
      deploy/keycloak/realm-minwon.json ("env").
  (b) ``deploy/local/keycloak.sh up``: Keycloak (development mode) on 127.0.0.1 with that
      realm imported, fetched into ~/.cache/minwon on first use (about a minute once, then
      30-60 s a start).  Left running after the tests like Kafka; ``keycloak.sh down`` stops it.

Note: FerretDB 1.24 is not MongoDB.  Tests that need features it lacks (e.g. most
aggregation accumulators/stages, $lookup, transactions, change streams, TTL/partial
indexes, Decimal128) should check ``infra.ferretdb`` and skip.

No pytest import at module level: usable from conftest.py, scripts and a REPL.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
INFRA_SCRIPT = REPO_ROOT / "deploy" / "local" / "infra.sh"
KEYCLOAK_SCRIPT = REPO_ROOT / "deploy" / "local" / "keycloak.sh"
REALM_FILE = REPO_ROOT / "deploy" / "keycloak" / "realm-minwon.json"

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
            capture_output=True,
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
        f"local (Apache Kafka {kafka.group(1) if kafka else '?'} KRaft + FerretDB {ferret.group(1) if ferret else '?'})"
    )


def _run_script(*args: str, timeout: float, echo: bool, script: Path = INFRA_SCRIPT) -> str:
    """Run infra.sh (or keycloak.sh); its progress goes to stderr line by line, stdout is returned."""
    name = script.relative_to(REPO_ROOT)
    if not script.is_file():
        raise RuntimeError(f"{script} is missing")
    bash = shutil.which("bash")
    if bash is None:
        raise RuntimeError(f"bash is required to run {name}")
    proc = subprocess.Popen(
        [bash, str(script), *args],
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
        raise RuntimeError(f"{name} {' '.join(args)} did not finish in {timeout:.0f}s") from None
    finally:
        reader.join(timeout=5)
    if proc.returncode != 0:
        tail = "".join(err[-15:]).rstrip()
        raise RuntimeError(f"{name} {' '.join(args)} failed (exit {proc.returncode}):\n{tail}")
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


# ----------------------------------------------------------------------------- identity
@dataclass(frozen=True)
class StaffUser:
    """A test user of the realm file: the staff id is the username (``preferred_username``)."""

    username: str
    name: str
    department: str | None
    roles: tuple[str, ...]
    password: str


@dataclass(frozen=True)
class Identity:
    """An OpenID Connect provider serving the realm ``minwon`` of deploy/keycloak/realm-minwon.json."""

    issuer: str
    provider: str
    users: dict[str, StaffUser] = field(repr=False)
    console_client_id: str = "minwon-console"
    api_client_id: str = "minwon-api"
    api_client_secret: str = field(default="", repr=False)
    test_client_id: str = "minwon-test"
    audience: str = "minwon-api"

    @property
    def discovery_url(self) -> str:
        return self.issuer + "/.well-known/openid-configuration"

    def user(self, *, role: str, department: str | None = None) -> StaffUser:
        """The first test user holding ``role`` (in ``department`` when given)."""
        for user in self.users.values():
            if role in user.roles and (department is None or user.department == department):
                return user
        raise LookupError(f"no test user with role {role!r} in department {department!r} in {REALM_FILE.name}")

    def as_env(self) -> dict[str, str]:
        return {
            "MINWON_OIDC_ISSUER": self.issuer,
            "MINWON_OIDC_AUDIENCE": self.audience,
            "MINWON_OIDC_CONSOLE_CLIENT_ID": self.console_client_id,
        }


_identity_lock = threading.Lock()
_identity: Identity | None = None
_started_keycloak = False


def _realm_identity(issuer: str, provider: str) -> Identity:
    """Clients and test users as the realm file declares them."""
    realm = json.loads(REALM_FILE.read_text(encoding="utf-8"))
    users: dict[str, StaffUser] = {}
    for rep in realm.get("users", []):
        passwords = [c["value"] for c in rep.get("credentials", []) if c.get("type") == "password" and "value" in c]
        if rep.get("serviceAccountClientId") or not passwords:
            continue
        department = (rep.get("attributes", {}).get("department") or [None])[0]
        name = " ".join(p for p in (rep.get("firstName"), rep.get("lastName")) if p)
        users[rep["username"]] = StaffUser(
            username=rep["username"],
            name=name,
            department=department,
            roles=tuple(rep.get("realmRoles", [])),
            password=passwords[0],
        )
    secrets = {c["clientId"]: c.get("secret", "") for c in realm.get("clients", [])}
    return Identity(
        issuer=issuer.rstrip("/"), provider=provider, users=users, api_client_secret=secrets.get("minwon-api", "")
    )


def _keycloak_version() -> str:
    try:
        found = re.search(r"^KEYCLOAK_VERSION=(\S+)", KEYCLOAK_SCRIPT.read_text(), re.M)
    except OSError:
        found = None
    return found.group(1) if found else "?"


def ensure_identity() -> Identity:
    """Return a reachable OpenID Connect provider with the minwon realm, starting Keycloak if needed."""
    global _identity, _started_keycloak
    with _identity_lock:
        if _identity is not None:
            return _identity
        issuer = os.environ.get("MINWON_OIDC_ISSUER", "").strip()
        if issuer:
            _identity = _realm_identity(issuer, "env")
            _log(f"using the identity provider of MINWON_OIDC_ISSUER: {_identity.issuer}")
            return _identity
        _log(f"starting Keycloak with {KEYCLOAK_SCRIPT.relative_to(REPO_ROOT)} up")
        try:
            _run_script("up", timeout=_LOCAL_UP_TIMEOUT, echo=True, script=KEYCLOAK_SCRIPT)
        except RuntimeError as exc:
            raise RuntimeError(
                f"No OpenID Connect provider for the identity tests: {exc}\n"
                "Set MINWON_OIDC_ISSUER, or fix the error of 'bash deploy/local/keycloak.sh up' "
                "(needs Maven and python3 with pip for the first install)."
            ) from None
        _started_keycloak = True
        env: dict[str, str] = {}
        for line in _run_script("env", timeout=30, echo=False, script=KEYCLOAK_SCRIPT).splitlines():
            m = re.match(r"^\s*export\s+([A-Z_]+)=(.*)$", line)
            if m:
                env[m.group(1)] = m.group(2).strip().strip("'\"")
        if "MINWON_OIDC_ISSUER" not in env:
            raise RuntimeError("deploy/local/keycloak.sh env did not print MINWON_OIDC_ISSUER")
        _identity = _realm_identity(
            env["MINWON_OIDC_ISSUER"], f"local (Keycloak {_keycloak_version()}, development mode)"
        )
        _log(f"using {_identity.provider}: issuer {_identity.issuer}")
        return _identity


def teardown(stop_local: bool = False) -> None:
    """Stop what ensure_infrastructure() started.

    Containers are always stopped.  The local Kafka/FerretDB processes (and Keycloak) are
    left running (the next test run reuses them in about a second) unless ``stop_local`` is
    true or MINWON_INFRA_STOP=1, in which case ``deploy/local/infra.sh down`` (and
    ``keycloak.sh down``) removes them and their data.
    """
    global _current, _started_local, _identity, _started_keycloak
    stop = stop_local or os.environ.get("MINWON_INFRA_STOP") == "1"
    with _identity_lock:
        if _started_keycloak and stop:
            try:
                _run_script("down", timeout=120, echo=True, script=KEYCLOAK_SCRIPT)
            except RuntimeError as exc:
                _log(str(exc))
            _started_keycloak = False
        _identity = None
    with _lock:
        _stop_containers()
        if _started_local and stop:
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

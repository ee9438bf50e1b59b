"""Kafka as a production cluster runs it: SASL/SCRAM-SHA-512 over TLS, one user per service, and
the ACLs of ``k8s/base/kafka/users.yaml`` enforced by the broker (what no ACL allows is refused).

The broker is a second local one, ``deploy/local/kafka-secure.sh up`` (its own ports and run dir,
the Kafka jars of ``infra.sh``), started for this module and removed at its end. Like the plain
infrastructure it skips on a machine that cannot start it and fails under ``CI=true``.

The topics carry no test prefix: the ACLs name the real topics and groups, and the broker is new
for each run.
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from minwon import topics
from minwon.bus import KafkaBus, KafkaSecurity, RetryPolicy
from minwon.events import Event
from minwon.settings import Settings

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "deploy" / "local" / "kafka-secure.sh"
SERVICES = ("intake", "routing", "deadline", "notification", "compensation", "survey")


@dataclass(frozen=True)
class SecureKafka:
    bootstrap: str
    mtls: str
    cafile: str
    tls_dir: Path
    passwords: dict[str, str]

    def security(self, user: str, password: str | None = None) -> KafkaSecurity:
        return KafkaSecurity(
            protocol="SASL_SSL",
            mechanism="SCRAM-SHA-512",
            username=user,
            password=self.passwords[user] if password is None else password,
            cafile=self.cafile,
        )

    def bus(self, user: str, password: str | None = None, **kw: Any) -> KafkaBus:
        return KafkaBus(
            self.bootstrap,
            client_id=f"test-{user}",
            security=self.security(user, password),
            retry=RetryPolicy(attempts=2, first_delay=0.05, max_delay=0.5),
            **kw,
        )

    def settings(self, service: str, **overrides: Any) -> Settings:
        """A service's settings as its Deployment has them, but for this broker."""
        return Settings(
            **{
                "backend": "distributed",
                "kafka_bootstrap_servers": self.bootstrap,
                "kafka_security_protocol": "SASL_SSL",
                "kafka_sasl_mechanism": "SCRAM-SHA-512",
                "kafka_sasl_username": f"minwon-{service}",
                "kafka_sasl_password": self.passwords[f"minwon-{service}"],
                "kafka_ssl_cafile": self.cafile,
                **overrides,
            }
        )


def _script_env(*args: str) -> dict[str, str]:
    from tests import _infra

    out = _infra._run_script(*args, timeout=60, echo=False, script=SCRIPT)
    return dict(re.findall(r"^export ([A-Z_]+)=(.*)$", out, re.M))


@pytest.fixture(scope="module")
def secure_kafka() -> Iterator[SecureKafka]:
    from tests import _infra

    try:
        _infra._run_script("up", timeout=900, echo=True, script=SCRIPT)
        env = _script_env("env")
    except Exception as exc:  # noqa: BLE001
        try:  # a half-started broker is not left behind
            _infra._run_script("down", timeout=120, echo=True, script=SCRIPT)
        except Exception:  # noqa: BLE001
            pass
        if _infra.infrastructure_required():
            pytest.fail(f"CI=true and the SASL_SSL Kafka broker could not be started: {exc}", pytrace=False)
        pytest.skip(f"no SASL_SSL Kafka broker (deploy/local/kafka-secure.sh up): {exc}")
    passwords = dict(line.split() for line in Path(env["MINWON_KAFKA_SECURE_CREDENTIALS"]).read_text().splitlines())
    try:
        yield SecureKafka(
            bootstrap=env["KAFKA_BOOTSTRAP_SERVERS"],
            mtls=env["MINWON_KAFKA_SECURE_MTLS"],
            cafile=env["MINWON_KAFKA_SSL_CAFILE"],
            tls_dir=Path(env["MINWON_KAFKA_SECURE_TLS_DIR"]),
            passwords=passwords,
        )
    finally:
        _infra._run_script("down", timeout=120, echo=True, script=SCRIPT)


@pytest.fixture(scope="module")
async def topics_made(secure_kafka: SecureKafka) -> None:
    """The topics exist, as Strimzi's KafkaTopics make them: created by the admin, not by a service."""
    admin = secure_kafka.bus("admin", partitions=2)
    await admin.ensure_topics()


def event(subject: str | None = None) -> Event:
    subject = subject or f"2AA-{uuid.uuid4().hex[:10]}"
    return Event.new(
        "kr.minwon.test.security.v1",
        source="/minwon/test",
        subject=subject,
        time=datetime.now(UTC),
        data={"receipt_no": subject},
    )


def refusal(exc: BaseException) -> str:
    """The name of the first Kafka error in ``exc``'s chain."""
    seen: BaseException | None = exc
    while seen is not None:
        if type(seen).__module__.startswith("aiokafka"):
            return type(seen).__name__
        seen = seen.__cause__ or seen.__context__
    return type(exc).__name__


async def until(probe: Any, timeout: float = 60.0) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    last = None
    while asyncio.get_running_loop().time() < deadline:
        last = await probe()
        if last:
            return last
        await asyncio.sleep(0.2)
    raise AssertionError(f"not reached in {timeout}s; last={last!r}")


# ------------------------------------------------------------------ pure: the options


def test_plaintext_is_the_default_and_adds_no_options() -> None:
    security = KafkaSecurity.from_settings(Settings())
    assert security.protocol == "PLAINTEXT"
    assert security.client_options() == {}
    assert security.faststream() is None


def test_sasl_ssl_options_for_aiokafka_and_faststream(tmp_path: Path) -> None:
    settings = Settings(
        kafka_security_protocol="SASL_SSL", kafka_sasl_username="minwon-intake", kafka_sasl_password="s3cret"
    )
    security = KafkaSecurity.from_settings(settings)
    options = security.client_options()
    assert options["security_protocol"] == "SASL_SSL"
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (options["sasl_plain_username"], options["sasl_plain_password"]) == ("minwon-intake", "s3cret")
    assert options["ssl_context"].check_hostname
    from faststream.security import SASLScram512

    broker_side = security.faststream()
    assert isinstance(broker_side, SASLScram512) and broker_side.use_ssl
    assert "s3cret" not in repr(security) and "s3cret" not in repr(settings)


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"protocol": "SASL_SSL", "username": "minwon-intake"}, "password"),
        ({"protocol": "TLS"}, "protocol"),
        ({"protocol": "SASL_SSL", "mechanism": "GSSAPI", "username": "u", "password": "p"}, "mechanism"),
        ({"protocol": "SSL", "certfile": "client.crt"}, "key file"),
    ],
)
def test_incomplete_security_is_refused_at_construction(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        KafkaSecurity(**kwargs)


def test_min_insync_replicas_cannot_exceed_the_replication_factor() -> None:
    with pytest.raises(ValueError, match="min.insync.replicas"):
        KafkaBus("127.0.0.1:1", replication_factor=1, min_insync_replicas=2)


# ------------------------------------------------------------------ the broker: users and ACLs


async def test_intake_publishes_and_routing_consumes_over_sasl_ssl(
    secure_kafka: SecureKafka, topics_made: None
) -> None:
    intake = secure_kafka.bus("minwon-intake")
    routing = secure_kafka.bus("minwon-routing")
    public, private = event(), event()
    seen: dict[str, str] = {}
    both = asyncio.Event()

    async def handler(e: Event) -> None:
        seen[e.id] = e.subject
        if {public.id, private.id} <= set(seen):
            both.set()

    routing.subscribe("minwon-routing", [topics.COMPLAINTS, topics.PRIVATE], handler)
    try:
        await intake.publish(topics.COMPLAINTS, public)
        await intake.publish(topics.PRIVATE, private)
        await routing.start()  # its own ensure_topics: sees every topic (Describe), creates none
        await asyncio.wait_for(both.wait(), 60)
        assert seen[public.id] == public.subject and seen[private.id] == private.subject
        # the lag reader (admin and consumer clients) uses the same credentials
        lag = await until(routing.lag)
        assert {(g, t) for g, t, _ in lag} == {
            ("minwon-routing", topics.COMPLAINTS),
            ("minwon-routing", topics.PRIVATE),
        }
    finally:
        await routing.stop()
        await intake.stop()


async def test_survey_is_refused_the_private_complaints(secure_kafka: SecureKafka, topics_made: None) -> None:
    intake = secure_kafka.bus("minwon-intake")
    survey = secure_kafka.bus("minwon-survey")
    try:
        await intake.publish(topics.PRIVATE, event())  # something to read
        with pytest.raises(Exception) as refused:
            async for _ in survey.read([topics.PRIVATE]):
                pytest.fail("survey read a record of the restricted topic")
        assert refusal(refused.value) == "TopicAuthorizationFailedError"
        assert topics.PRIVATE in str(refused.value)
        # what survey's ACLs do allow still works: it reads the complaints topic ...
        [found async for found in survey.read([topics.COMPLAINTS])]
        # ... and writes its own, but no other service's
        await survey.publish(topics.SURVEYS, event())
        with pytest.raises(Exception) as refused:
            await survey.publish(topics.COMPLAINTS, event())
        assert refusal(refused.value) == "TopicAuthorizationFailedError"
    finally:
        await survey.stop()
        await intake.stop()


async def test_a_consumer_group_of_another_service_is_refused(secure_kafka: SecureKafka, topics_made: None) -> None:
    """Survey may read the complaints topic, but only in its own group: the group ACL holds too."""
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(
        topics.COMPLAINTS,
        bootstrap_servers=secure_kafka.bootstrap,
        group_id="minwon-routing",
        enable_auto_commit=False,
        **secure_kafka.security("minwon-survey").client_options(),
    )
    try:
        with pytest.raises(Exception) as refused:  # joining the group is refused
            await asyncio.wait_for(consumer.start(), 60)
            await asyncio.wait_for(consumer.getmany(timeout_ms=5000), 30)
        assert refusal(refused.value) == "GroupAuthorizationFailedError"
        assert "minwon-routing" in str(refused.value)
    finally:
        await consumer.stop()


async def test_a_wrong_password_or_no_credentials_are_refused(
    secure_kafka: SecureKafka, topics_made: None, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = secure_kafka.bus("minwon-intake", password="not-the-password")
    with caplog.at_level(logging.ERROR, logger="aiokafka"), pytest.raises(Exception) as refused:
        await wrong.publish(topics.COMPLAINTS, event())
    assert refusal(refused.value) == "KafkaConnectionError"
    assert "SaslAuthenticationFailed" in caplog.text and "invalid credentials" in caplog.text
    await wrong.stop()

    plain = KafkaBus(secure_kafka.bootstrap, client_id="test-plaintext")  # today's default: no TLS, no SASL
    with pytest.raises(Exception) as refused:
        await asyncio.wait_for(plain.ensure_topics(), 60)
    assert refusal(refused.value) in ("KafkaConnectionError", "TimeoutError")


async def test_mutual_tls_the_certificate_names_the_user(secure_kafka: SecureKafka, topics_made: None) -> None:
    def by_certificate(user: str | None) -> KafkaBus:
        files = (
            {
                "certfile": str(secure_kafka.tls_dir / f"{user}.crt"),
                "keyfile": str(secure_kafka.tls_dir / f"{user}.key"),
            }
            if user
            else {}
        )
        return KafkaBus(
            secure_kafka.mtls,
            client_id=f"test-mtls-{user}",
            security=KafkaSecurity(protocol="SSL", cafile=secure_kafka.cafile, **files),
        )

    intake = by_certificate("minwon-intake")
    try:
        await intake.publish(topics.COMPLAINTS, event())
        with pytest.raises(Exception) as refused:
            await intake.publish(topics.SURVEYS, event())
        assert refusal(refused.value) == "TopicAuthorizationFailedError"
    finally:
        await intake.stop()
    anonymous = by_certificate(None)
    with pytest.raises(Exception) as refused:
        await asyncio.wait_for(anonymous.ensure_topics(), 60)
    assert refusal(refused.value) == "KafkaConnectionError"


async def test_topics_get_the_configured_replication_and_a_service_may_not_create_any(
    secure_kafka: SecureKafka, topics_made: None
) -> None:
    from aiokafka.admin import AIOKafkaAdminClient
    from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

    prefix = f"rf{uuid.uuid4().hex[:8]}."
    made = secure_kafka.bus("admin", prefix=prefix, partitions=1, replication_factor=1, min_insync_replicas=1)
    await made.ensure_topics([topics.SURVEYS])
    admin = AIOKafkaAdminClient(
        bootstrap_servers=secure_kafka.bootstrap, **secure_kafka.security("admin").client_options()
    )
    try:
        await admin.start()
        (answer,) = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, prefix + topics.SURVEYS, {"min.insync.replicas": None})]
        )
        (resource,) = answer.resources
        assert [(entry[0], entry[1]) for entry in resource[4]] == [("min.insync.replicas", "1")]
        (described,) = await admin.describe_topics([prefix + topics.SURVEYS])
        assert [len(p["replicas"]) for p in described["partitions"]] == [1]
    finally:
        await admin.close()

    # more replicas than brokers: refused at start, not a service running without its topics
    three = secure_kafka.bus("admin", prefix=f"{prefix}x.", partitions=1, replication_factor=3, min_insync_replicas=2)
    with pytest.raises(Exception) as refused:
        await three.ensure_topics([topics.SURVEYS])
    assert refusal(refused.value) == "InvalidReplicationFactorError"

    # a service's user sees the topics but creates none (Strimzi's KafkaTopics do)
    survey = secure_kafka.bus("minwon-survey", prefix=f"{prefix}y.", partitions=1)
    with pytest.raises(Exception) as refused:
        await survey.ensure_topics([topics.SURVEYS])
    assert refusal(refused.value) == "TopicAuthorizationFailedError"


# ------------------------------------------------------------------ the services, each as its own user


@pytest.fixture
async def services(secure_kafka: SecureKafka, topics_made: None, infra: Any) -> AsyncIterator[dict[str, Any]]:
    """The six services, each in its own app with its own bus as its own Kafka user, built from its
    settings the way ``minwon serve`` builds them (``build_infrastructure``); MongoDB as the tests have it."""
    from litestar.testing import AsyncTestClient

    from apps.host import build_infrastructure, build_services, create_app
    from tests.factories import STAFF

    tag = uuid.uuid4().hex[:8]
    clients: dict[str, Any] = {}
    stores = []
    async with AsyncExitStack() as stack:
        for name in SERVICES:
            settings = secure_kafka.settings(
                name,
                mongodb_uri=infra.mongodb_uri,
                database_prefix=f"s{tag}_",
                outbox_interval_seconds=0.2,
                timer_interval_seconds=0.2,
            )
            built = build_infrastructure(settings, [name])
            assert f"SASL_SSL as minwon-{name}" in repr(built.bus)
            stores.extend(built.stores.values())
            app = create_app(build_services(settings, [name], built), built)
            client = await stack.enter_async_context(AsyncTestClient(app, timeout=30))
            client.headers.update(STAFF)
            clients[name] = (client, built)
        yield clients
    for store in stores:
        try:
            await store.drop()
        except Exception:  # noqa: BLE001 - FerretDB clean-up, best effort
            pass


async def test_the_services_run_each_as_its_own_user(services: dict[str, Any]) -> None:
    """A complaint filed at intake is routed, assigned and given its due date by the other services,
    every hop over SASL_SSL under the ACLs; every consumer group of every service may commit and be
    measured (the lag reader fails on a group its user may not describe)."""
    from tests.factories import complaint_payload

    intake, _ = services["intake"]
    r = await intake.post("/api/v1/complaints", json=complaint_payload(category="road", district="해운대구"))
    assert r.status_code == 201, r.text
    receipt, code = r.json()["receipt_no"], r.json()["check_code"]

    async def ready() -> Any:
        view = await intake.get(f"/api/v1/complaints/{receipt}?code={code}")
        body = view.json() if view.status_code == 200 else {}
        return body if body.get("handler") and body.get("due_at") else None

    view = await until(ready, 90)
    assert {"routed", "assigned", "due_set"} <= {s["step"] for s in view["timeline"]}

    for name, (_, built) in services.items():
        lag = await until(built.bus.lag)
        groups = {g for g, _, _ in lag}
        assert groups and all(g.startswith(f"minwon-{name}") for g in groups), (name, groups)

"""Kubernetes: every overlay renders with kustomize and validates against the Kubernetes schemas; the objects
say what the services need (probes, non-root, secrets, topics, ACLs, autoscaling)."""

from __future__ import annotations

import re
import subprocess
import sys
from typing import Any

import kubernetes_validate
import pytest

from apps import asyncapi
from apps.registry import SERVICES
from minwon import contracts, topics
from tests.deploy._deploy import ADAPTER_VALUES, K8S, OVERLAYS, ROOT, env_read_by_any, load_yaml, of_kind, render

KUBERNETES_VERSION = "1.31.0"
CONSUMERS = tuple(s for s in SERVICES if s != "intake")  # intake scales on HTTP load (HPA), the rest on lag (KEDA)
CRDS = {
    ("kafka.strimzi.io/v1beta2", "KafkaTopic"),
    ("kafka.strimzi.io/v1beta2", "KafkaUser"),
    ("keda.sh/v1alpha1", "ScaledObject"),
    ("keda.sh/v1alpha1", "TriggerAuthentication"),
    ("monitoring.coreos.com/v1", "PodMonitor"),
    ("monitoring.coreos.com/v1", "PrometheusRule"),
}
DNS_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")


def consumed_topics(service: str) -> set[str]:
    """The topics the service's consumer groups read: derived from their handler tables."""
    return {
        topic
        for group, types in asyncapi.CONSUMERS
        if group == f"minwon-{service}" or group.startswith(f"minwon-{service}-")
        for topic in contracts.topics_of(types)
    }


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_an_overlay_renders_and_validates_against_the_kubernetes_schemas(overlay: str) -> None:
    docs = render(f"overlays/{overlay}")
    assert docs
    seen = set()
    for doc in docs:
        key = (doc["apiVersion"], doc["kind"], doc["metadata"]["name"])
        assert key not in seen, f"duplicate {key}"
        seen.add(key)
        assert DNS_NAME.match(doc["metadata"]["name"]), doc["metadata"]["name"]
        assert doc["metadata"].get("namespace") == "minwon", key
        if (doc["apiVersion"], doc["kind"]) in CRDS:
            assert isinstance(doc.get("spec"), dict) and doc["spec"], key  # no schema shipped: check the shape
            continue
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_the_schema_validation_would_catch_a_mistake() -> None:
    deployment = dict(of_kind(render("overlays/county"), "Deployment")["minwon-intake"])
    broken = {**deployment, "spec": {**deployment["spec"], "replicas": "one"}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("service", SERVICES)
def test_a_service_has_its_deployment_service_budget_and_policy(overlay: str, service: str) -> None:
    docs = render(f"overlays/{overlay}")
    name = f"minwon-{service}"
    deployment = of_kind(docs, "Deployment")[name]
    pod = deployment["spec"]["template"]
    labels = pod["metadata"]["labels"]
    assert labels["app.kubernetes.io/component"] == service
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    (container,) = pod["spec"]["containers"]
    assert container["args"] == ["service", service]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["resources"]["requests"]["cpu"] and container["resources"]["limits"]["memory"]
    security = {**pod["spec"]["securityContext"], **container["securityContext"]}
    assert security["runAsNonRoot"] is True and security["runAsUser"] != 0
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    configmaps = of_kind(docs, "ConfigMap")
    refs = container["envFrom"]
    assert refs[0]["configMapRef"]["name"] in configmaps
    assert refs[1]["secretRef"]["name"] == name  # the service's own secret: its MongoDB user and its keys

    svc = of_kind(docs, "Service")[name]
    assert svc["spec"]["selector"].items() <= labels.items()
    assert svc["spec"]["ports"][0]["targetPort"] == "http"
    pdb = of_kind(docs, "PodDisruptionBudget")[name]
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    policy = of_kind(docs, "NetworkPolicy")[name]
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= labels.items()
    assert set(policy["spec"]["policyTypes"]) == {"Ingress", "Egress"}
    # the policy selects this service's pods only
    others = [of_kind(docs, "Deployment")[f"minwon-{o}"] for o in SERVICES if o != service]
    for other in others:
        assert (
            not policy["spec"]["podSelector"]["matchLabels"].items()
            <= other["spec"]["template"]["metadata"]["labels"].items()
        )


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_configuration_sets_only_what_the_settings_read(overlay: str) -> None:
    (config,) = [
        c for n, c in of_kind(render(f"overlays/{overlay}"), "ConfigMap").items() if n.startswith("minwon-config")
    ]
    data = config["data"]
    assert set(data) <= env_read_by_any(), set(data) - env_read_by_any()
    assert data["MINWON_BACKEND"] == "distributed" and data["MINWON_HTTP_HOST"] == "0.0.0.0"
    assert data["MINWON_HTTP_PORT"] == "8000"
    assert data["KAFKA_BOOTSTRAP_SERVERS"].startswith("minwon-kafka-bootstrap:")
    assert "MONGODB_URI" not in data, "each service's MongoDB credentials live in its own Secret"


def test_the_generated_files_are_up_to_date() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "deploy/tools/sync_k8s.py"), "--check"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_registered_topic_is_a_kafka_topic(overlay: str) -> None:
    found = {t["spec"]["topicName"]: t for t in of_kind(render(f"overlays/{overlay}"), "KafkaTopic").values()}
    assert set(found) == {spec.name for spec in topics.TOPICS}
    for spec in topics.TOPICS:
        topic = found[spec.name]
        assert topic["metadata"]["labels"]["strimzi.io/cluster"] == "minwon"
        assert topic["spec"]["partitions"] == spec.partitions
        assert int(topic["spec"]["config"]["retention.ms"]) == spec.retention_ms
    for name in topics.LIFECYCLE:
        assert found[name]["spec"]["config"]["retention.ms"] == "-1"  # replayable
    assert int(found[topics.DEADLETTER]["spec"]["config"]["retention.ms"]) == 4 * 7 * 24 * 3600 * 1000
    replicas = {t["spec"]["replicas"] for t in found.values()}
    assert replicas == ({1} if overlay == "county" else {3})


def acl_table(user: dict[str, Any]) -> dict[tuple[str, str, str], set[str]]:
    out: dict[tuple[str, str, str], set[str]] = {}
    for acl in user["spec"]["authorization"]["acls"]:
        r = acl["resource"]
        out.setdefault((r["type"], r["name"], r.get("patternType", "literal")), set()).update(acl["operations"])
    return out


def readers(users: dict[str, dict[str, Any]], topic: str, op: str) -> set[str]:
    return {
        name.removeprefix("minwon-")
        for name, user in users.items()
        if op in acl_table(user).get(("topic", topic, "literal"), set())
    }


def test_kafka_users_may_do_exactly_what_their_service_does() -> None:
    users = of_kind(render("overlays/metro"), "KafkaUser")
    assert set(users) == {f"minwon-{s}" for s in SERVICES}
    for service in SERVICES:
        table = acl_table(users[f"minwon-{service}"])
        writes = {name for (kind, name, _), ops in table.items() if kind == "topic" and "Write" in ops}
        reads = {name for (kind, name, _), ops in table.items() if kind == "topic" and "Read" in ops}
        owned = {spec.name for spec in topics.TOPICS if spec.owner == service}
        assert writes == owned | {topics.DEADLETTER}, service
        assert reads == consumed_topics(service), service
        assert {"Read", "Describe"} <= table[("group", f"minwon-{service}", "literal")]
        assert table[("topic", "minwon.", "prefix")] == {"Describe"}
        assert users[f"minwon-{service}"]["spec"]["authentication"]["type"] == "scram-sha-512"


def test_only_intake_writes_and_only_routing_and_notification_read_the_restricted_topic() -> None:
    users = of_kind(render("overlays/metro"), "KafkaUser")
    (private,) = [spec for spec in topics.TOPICS if spec.restricted]
    assert readers(users, private.name, "Write") == {"intake"}
    assert readers(users, private.name, "Read") == {"routing", "notification"}
    for user in users.values():
        for (kind, _name, pattern), ops in acl_table(user).items():
            if kind == "topic" and pattern == "prefix":
                assert ops == {"Describe"}, "a prefix ACL must not grant reading or writing the restricted topic"


def test_county_runs_one_replica_of_each() -> None:
    deployments = of_kind(render("overlays/county"), "Deployment")
    assert {d["spec"]["replicas"] for d in deployments.values()} == {1}
    assert not of_kind(render("overlays/county"), "HorizontalPodAutoscaler")
    assert not of_kind(render("overlays/county"), "ScaledObject")


def test_metro_scales_intake_on_cpu_and_request_rate() -> None:
    docs = render("overlays/metro")
    hpa = of_kind(docs, "HorizontalPodAutoscaler")["minwon-intake"]
    assert hpa["spec"]["scaleTargetRef"]["name"] in of_kind(docs, "Deployment")
    metrics = {m["type"]: m for m in hpa["spec"]["metrics"]}
    assert metrics["Resource"]["resource"]["name"] == "cpu"
    custom = metrics["Pods"]["pods"]["metric"]["name"]
    adapter = load_yaml(ADAPTER_VALUES)["rules"]["custom"]
    assert custom in {rule["name"]["as"] for rule in adapter}, "prometheus-adapter must serve the HPA's metric"
    assert hpa["spec"]["minReplicas"] >= 2 and hpa["spec"]["maxReplicas"] > hpa["spec"]["minReplicas"]
    assert "replicas" not in of_kind(docs, "Deployment")["minwon-intake"]["spec"], "the HPA owns the count"


def test_metro_scales_every_consumer_on_its_lag_up_to_the_partitions() -> None:
    docs = render("overlays/metro")
    scaled = {s["spec"]["scaleTargetRef"]["name"]: s for s in of_kind(docs, "ScaledObject").values()}
    assert set(scaled) == {f"minwon-{s}" for s in CONSUMERS}
    deployments = of_kind(docs, "Deployment")
    config = next(c for n, c in of_kind(docs, "ConfigMap").items() if n.startswith("minwon-config"))["data"]
    for service in CONSUMERS:
        obj = scaled[f"minwon-{service}"]
        assert obj["spec"]["scaleTargetRef"]["name"] in deployments
        (trigger,) = obj["spec"]["triggers"]
        assert trigger["type"] == "kafka"
        assert trigger["metadata"]["consumerGroup"] == f"minwon-{service}"
        assert trigger["metadata"]["bootstrapServers"] == config["KAFKA_BOOTSTRAP_SERVERS"]
        partitions = max(topics.spec(t).partitions for t in consumed_topics(service))
        assert obj["spec"]["maxReplicaCount"] == partitions == 12
        assert "replicas" not in deployments[f"minwon-{service}"]["spec"]


def test_metro_scrapes_pods_with_the_labels_the_rules_expect() -> None:
    docs = render("overlays/metro")
    monitor = of_kind(docs, "PodMonitor")["minwon"]
    deployment = of_kind(docs, "Deployment")["minwon-intake"]
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert monitor["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert pod_labels[monitor["spec"]["jobLabel"]] == "minwon"  # up{job="minwon"} in the alerts
    relabel = monitor["spec"]["podMetricsEndpoints"][0]["relabelings"][0]
    assert relabel["targetLabel"] == "component"
    rule = of_kind(docs, "PrometheusRule")["minwon"]
    # the same rules, with the overlay's own runbook base (k8s/overlays/metro/runbooks.yaml)
    base = load_yaml(K8S / "overlays/metro/runbooks.yaml")["data"]["RUNBOOK_BASE_URL"]
    assert base.startswith("https://") and "#" not in base
    expected = load_yaml(ROOT / "deploy/prometheus/alerts.yml")["groups"]
    for group in expected:
        for r in group["rules"]:
            if "runbook_url" in r.get("annotations", {}):
                r["annotations"]["runbook_url"] = base + "#" + r["annotations"]["runbook_url"].partition("#")[2]
    assert expected == rule["spec"]["groups"]
    assert not of_kind(docs, "ConfigMap").get("minwon-runbooks"), "kustomize-local: never applied"


def test_no_service_manifest_is_hand_copied() -> None:
    """Per-service folders hold only a kustomization that instantiates the one template."""
    for folder in (K8S / "base/services", K8S / "overlays/metro/consumer-scaling"):
        for service_dir in folder.iterdir():
            if service_dir.name == "template" or not service_dir.is_dir():
                continue
            assert [p.name for p in service_dir.iterdir()] == ["kustomization.yaml"], service_dir

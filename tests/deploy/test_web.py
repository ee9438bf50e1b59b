"""The web front deployed: the compose service and its API gateway, and on Kubernetes the web Deployment with its
gateway sidecar, Service, policies and the TLS Ingress, in both overlays."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlparse

import pytest

from minwon.host import PREFIXES, SERVICES
from tests.deploy._deploy import GATEWAY_COMPOSE, GATEWAY_K8S, OVERLAYS, compose, env_read_by, of_kind, render
from tests.deploy.test_compose import env_of

LOCATION = re.compile(r"location\s+(\S+)\s*\{\s*proxy_pass\s+http://([a-z0-9-]+):(\d+);\s*\}")
LISTEN = re.compile(r"^\s*listen\s+(\S+);", re.M)
SHARED_SECRETS = ("MINWON_PII_KEY", "MINWON_CONTACTS_KEY", "MINWON_CHECK_CODE_SECRET", "MINWON_SURVEY_SECRET",
                  "MINWON_NOTIFICATION_KEY", "MINWON_COMPENSATION_VOUCHER_SECRET")


def gateway_routes(path: Path) -> dict[str, tuple[str, int]]:
    return {prefix: (host, int(port)) for prefix, host, port in LOCATION.findall(path.read_text("utf-8"))}


@pytest.mark.parametrize(("path", "name"), [(GATEWAY_COMPOSE, "{}"), (GATEWAY_K8S, "minwon-{}")])
def test_the_gateway_routes_every_api_prefix_to_its_service(path: Path, name: str) -> None:
    routes = gateway_routes(path)
    assert routes == {prefix: (name.format(service), 8000) for prefix, service in PREFIXES.items()}


# ---------------------------------------------------------------- compose

def test_compose_runs_the_web_front_against_the_gateway() -> None:
    services = compose()["services"]
    web, gateway = services["web"], services["api-gateway"]
    assert web["command"] == ["web"]
    env = env_of(web)
    assert env["MINWON_BACKEND"] == "distributed" and env["MINWON_HTTP_HOST"] == "0.0.0.0"
    assert urlparse(env["MONGODB_URI"]).hostname in services  # the staff accounts (database minwon_web)
    api = urlparse(env["MINWON_WEB_API_URL"])
    assert api.hostname == "api-gateway"
    (listen,) = LISTEN.findall(GATEWAY_COMPOSE.read_text("utf-8"))
    assert api.port == int(listen.rsplit(":", 1)[-1])
    assert any(v.startswith("./deploy/docker/api-gateway.conf:/etc/nginx/conf.d/") for v in gateway["volumes"])
    # the image's health check asks 127.0.0.1:8000: the web front listens there
    assert env["MINWON_WEB_PORT"] == "8000" and "127.0.0.1:8000/healthz" in " ".join(web["healthcheck"]["test"])
    assert web["ports"] == ["127.0.0.1:8080:8000"]
    assert web["depends_on"]["api-gateway"]["condition"] == "service_healthy"
    assert web["depends_on"]["mongodb"]["condition"] == "service_healthy"
    assert "/healthz" in " ".join(gateway["healthcheck"]["test"])
    for service in SERVICES:
        assert gateway["depends_on"][service]["condition"] == "service_healthy"


def test_compose_gives_the_web_front_its_own_secrets_only() -> None:
    env = env_of(compose()["services"]["web"])
    assert re.fullmatch(r"\$\{MINWON_WEB_SESSION_SECRET:\?.+\}", env["MINWON_WEB_SESSION_SECRET"])
    assert "MINWON_AUTH_SECRET" in env
    assert not set(SHARED_SECRETS) & set(env), "the web front never opens sealed personal data itself"
    unread = sorted(set(env) - env_read_by("web"))
    assert not unread, f"web is given variables no setting of it reads: {unread}"


# ---------------------------------------------------------------- Kubernetes

@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_web_deployment_serves_the_front_through_its_gateway_sidecar(overlay: str) -> None:
    docs = render(f"overlays/{overlay}")
    deployment = of_kind(docs, "Deployment")["minwon-web"]
    pod = deployment["spec"]["template"]
    labels = pod["metadata"]["labels"]
    assert labels["app.kubernetes.io/component"] == "web"
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    (web,) = pod["spec"]["containers"]
    assert web["args"] == ["web"]
    env = {e["name"]: e["value"] for e in web["env"]}
    assert env["MINWON_WEB_PORT"] == str(web["ports"][0]["containerPort"]) == "8000"
    assert env["MINWON_WEB_SECURE_COOKIES"] == "true"
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert web[probe]["httpGet"]["path"] == "/healthz"
    assert web["envFrom"][1]["secretRef"]["name"] == "minwon-web"
    configmaps = of_kind(docs, "ConfigMap")
    assert web["envFrom"][0]["configMapRef"]["name"] in configmaps

    (sidecar,) = pod["spec"]["initContainers"]
    assert sidecar["restartPolicy"] == "Always", "a native sidecar: up before the web container"
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    (conf,) = [m for m in sidecar["volumeMounts"] if m["mountPath"] == "/etc/nginx/conf.d"]
    gateway_config = volumes[conf["name"]]["configMap"]["name"]
    assert gateway_config.startswith("minwon-api-gateway") and gateway_config in configmaps
    text = configmaps[gateway_config]["data"]["default.conf"]
    assert text == GATEWAY_K8S.read_text("utf-8")
    (listen,) = LISTEN.findall(text)
    assert urlparse(env["MINWON_WEB_API_URL"]).netloc == listen == "127.0.0.1:8081"
    for container in (web, sidecar):
        security = {**pod["spec"]["securityContext"], **container["securityContext"]}
        assert security["runAsNonRoot"] is True and security["runAsUser"] != 0
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
        assert container["resources"]["limits"]["memory"]

    svc = of_kind(docs, "Service")["minwon-web"]
    assert svc["spec"]["selector"].items() <= labels.items()
    assert of_kind(docs, "PodDisruptionBudget")["minwon-web"]["spec"]["selector"]["matchLabels"].items() \
        <= labels.items()


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_ingress_serves_the_front_and_the_apis_over_tls(overlay: str) -> None:
    docs = render(f"overlays/{overlay}")
    (ingress,) = of_kind(docs, "Ingress").values()
    assert ingress["metadata"]["annotations"]["cert-manager.io/cluster-issuer"]
    (rule,) = ingress["spec"]["rules"]
    (tls,) = ingress["spec"]["tls"]
    assert tls["hosts"] == [rule["host"]] and tls["secretName"]
    assert rule["host"] != "minwon.example.go.kr", "each overlay names its own host"
    backends = {p["path"]: p["backend"]["service"] for p in rule["http"]["paths"]}
    assert all(p["pathType"] == "Prefix" for p in rule["http"]["paths"])
    services = of_kind(docs, "Service")
    assert backends.pop("/")["name"] == "minwon-web"
    assert {path: b["name"] for path, b in backends.items()} == {p: f"minwon-{s}" for p, s in PREFIXES.items()}
    for backend in (*backends.values(), {"name": "minwon-web", "port": {"name": "http"}}):
        ports = {p["name"] for p in services[backend["name"]]["spec"]["ports"]}
        assert backend["port"]["name"] in ports


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_network_policies_let_the_web_front_reach_the_services(overlay: str) -> None:
    docs = render(f"overlays/{overlay}")
    policies = of_kind(docs, "NetworkPolicy")
    deployments = of_kind(docs, "Deployment")
    web_labels = deployments["minwon-web"]["spec"]["template"]["metadata"]["labels"]
    own = policies["minwon-web"]
    assert own["spec"]["podSelector"]["matchLabels"].items() <= web_labels.items()
    assert any(p.get("port") == 8000 for rule in own["spec"]["egress"] for p in rule.get("ports", []))
    assert any(p.get("port") == 27017 for rule in own["spec"]["egress"] for p in rule.get("ports", []))
    admit = policies["minwon-services-from-web"]
    (selector,) = admit["spec"]["podSelector"]["matchExpressions"]
    for service in SERVICES:
        labels = deployments[f"minwon-{service}"]["spec"]["template"]["metadata"]["labels"]
        assert labels[selector["key"]] in selector["values"]
    (source,) = admit["spec"]["ingress"][0]["from"]
    assert source["podSelector"]["matchLabels"].items() <= web_labels.items()
    assert labels[selector["key"]] != "web" and "web" not in selector["values"]


def test_metro_keeps_at_least_two_web_replicas_and_county_one() -> None:
    metro = render("overlays/metro")
    hpa = of_kind(metro, "HorizontalPodAutoscaler")["minwon-web"]
    assert hpa["spec"]["scaleTargetRef"]["name"] == "minwon-web" and hpa["spec"]["minReplicas"] >= 2
    assert "replicas" not in of_kind(metro, "Deployment")["minwon-web"]["spec"], "the HPA owns the count"
    assert of_kind(render("overlays/county"), "Deployment")["minwon-web"]["spec"]["replicas"] == 1

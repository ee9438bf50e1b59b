"""docker-compose.yml, the Dockerfile, the env file example, and the Prometheus/OTel files compose mounts."""

from __future__ import annotations

import re
from urllib.parse import urlparse

import pytest

from apps.registry import SERVICES
from tests.deploy._deploy import (
    COLLECTOR,
    DOCKERFILE,
    ENV_EXAMPLE,
    PROMETHEUS,
    ROOT,
    compose,
    env_read_by,
    env_read_by_any,
    load_yaml,
    read_env_file,
)

INFRA = ("kafka", "mongodb", "prometheus", "grafana", "otel-collector", "jaeger")
REQUIRED_ENV = (
    "MINWON_BACKEND",
    "KAFKA_BOOTSTRAP_SERVERS",
    "MONGODB_URI",
    "MINWON_HTTP_HOST",
    "MINWON_HTTP_PORT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
)
INTERPOLATION = re.compile(r"\$\{([A-Z0-9_]+)(?::?[-?][^}]*)?\}")


def env_of(service: dict) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


def test_compose_names_every_service_and_the_infrastructure() -> None:
    services = compose()["services"]
    assert set(SERVICES) | set(INFRA) <= set(services), set(SERVICES) | set(INFRA) - set(services)


def test_every_built_service_has_its_dockerfile_and_context() -> None:
    built = {name: s["build"] for name, s in compose()["services"].items() if "build" in s}
    assert set(SERVICES) <= set(built)
    for name, build in built.items():
        context = ROOT / build["context"]
        assert context.is_dir(), f"{name}: build context {context} missing"
        dockerfile = context / build.get("dockerfile", "Dockerfile")
        assert dockerfile.is_file(), f"{name}: {dockerfile} missing"
        assert dockerfile == DOCKERFILE, f"{name}: all services build from the one image"


@pytest.mark.parametrize("name", SERVICES)
def test_a_service_runs_itself_on_kafka_and_mongodb(name: str) -> None:
    services = compose()["services"]
    svc = services[name]
    assert svc["command"] == ["service", name]
    env = env_of(svc)
    for key in REQUIRED_ENV:
        assert key in env, f"{name} does not set {key}"
    assert env["MINWON_BACKEND"] == "distributed"
    assert env["MINWON_HTTP_HOST"] == "0.0.0.0"
    host, port = env["KAFKA_BOOTSTRAP_SERVERS"].split(":")
    assert host in services and port == "9092"
    mongo = urlparse(env["MONGODB_URI"])
    assert mongo.hostname in services
    # the replica set named in the URI is the one mongod is started with
    replset = services["mongodb"]["command"][services["mongodb"]["command"].index("--replSet") + 1]
    assert f"replicaSet={replset}" in mongo.query
    otlp = urlparse(env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"])
    assert otlp.hostname == "otel-collector" and otlp.port == 4318 and otlp.path == "/v1/traces"
    # waits for healthy infrastructure, and has a health check of its own on /healthz
    for dep in ("kafka", "mongodb"):
        assert svc["depends_on"][dep]["condition"] == "service_healthy"
    test = " ".join(svc["healthcheck"]["test"])
    assert f"127.0.0.1:{env['MINWON_HTTP_PORT']}/healthz" in test


@pytest.mark.parametrize("name", SERVICES)
def test_every_variable_set_for_a_service_is_read_by_its_settings(name: str) -> None:
    env = env_of(compose()["services"][name])
    unread = sorted(set(k.upper() for k in env) - env_read_by(name))
    assert not unread, f"{name} is given variables no setting of it reads: {unread}"


def test_secrets_reach_only_the_services_that_use_them() -> None:
    services = compose()["services"]
    holders = {
        key: {n for n in SERVICES if key in env_of(services[n])}
        for key in (
            "MINWON_PII_KEY",
            "MINWON_CONTACTS_KEY",
            "MINWON_CHECK_CODE_SECRET",
            "MINWON_SURVEY_SECRET",
            "MINWON_NOTIFICATION_KEY",
            "MINWON_COMPENSATION_VOUCHER_SECRET",
        )
    }
    assert holders["MINWON_PII_KEY"] == {"intake"}
    assert holders["MINWON_CONTACTS_KEY"] == {"intake", "routing", "notification"}  # the restricted topic
    assert holders["MINWON_CHECK_CODE_SECRET"] == {"intake"}
    assert holders["MINWON_SURVEY_SECRET"] == {"survey"}
    assert holders["MINWON_NOTIFICATION_KEY"] == {"notification"}
    assert holders["MINWON_COMPENSATION_VOUCHER_SECRET"] == {"compensation"}


def test_the_env_file_example_holds_exactly_what_compose_interpolates() -> None:
    example = read_env_file(ENV_EXAMPLE)
    text = ROOT.joinpath("docker-compose.yml").read_text("utf-8")
    interpolated = set(INTERPOLATION.findall(text)) - {"GRAFANA_ADMIN_PASSWORD", "MINWON_LOG_LEVEL"}
    assert interpolated == set(example), interpolated ^ set(example)
    assert set(example) <= env_read_by_any(), set(example) - env_read_by_any()
    # required secrets fail loudly when the env file is missing
    for key in ("MINWON_PII_KEY", "MINWON_CONTACTS_KEY", "MINWON_AUTH_SECRET"):
        assert re.search(r"\$\{" + key + r":?\?", text), f"{key} must be required (${{{key}:?...}})"


def test_every_service_a_service_waits_for_as_healthy_has_a_health_check() -> None:
    services = compose()["services"]
    for name, svc in services.items():
        for dep, cond in (svc.get("depends_on") or {}).items():
            assert dep in services, f"{name} depends on unknown {dep}"
            if cond["condition"] == "service_healthy":
                assert "healthcheck" in services[dep], f"{name} waits for {dep} to be healthy; it has no check"


def test_kafka_is_kraft_and_mongodb_initiates_its_replica_set() -> None:
    services = compose()["services"]
    kafka = services["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    assert "controller" in kafka["environment"]["KAFKA_PROCESS_ROLES"]
    assert kafka["environment"]["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    check = " ".join(services["mongodb"]["healthcheck"]["test"])
    assert "rs.initiate" in check and "isWritablePrimary" in check
    assert "--replSet" in services["mongodb"]["command"]


def test_mounted_files_exist() -> None:
    for name, svc in compose()["services"].items():
        for volume in svc.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name} mounts missing {source}"


def test_compose_documents_the_restricted_topic_acls() -> None:
    text = ROOT.joinpath("docker-compose.yml").read_text("utf-8")
    assert "minwon.private.complaints.v1" in text and "User:minwon-intake" in text


def test_prometheus_scrapes_every_compose_service_on_its_port() -> None:
    config = load_yaml(PROMETHEUS)
    job = next(j for j in config["scrape_configs"] if j["job_name"] == "minwon")
    assert job.get("metrics_path", "/metrics") == "/metrics"
    targets = {t: group["labels"]["component"] for group in job["static_configs"] for t in group["targets"]}
    services = compose()["services"]
    expected = {f"{n}:{env_of(services[n])['MINWON_HTTP_PORT']}": n for n in SERVICES}
    expected[f"web:{env_of(services['web'])['MINWON_WEB_PORT']}"] = "web"
    assert targets == expected
    assert config["rule_files"] == ["/etc/prometheus/alerts.yml"]
    mount = next(v for v in services["prometheus"]["volumes"] if v.startswith("./deploy/prometheus:"))
    assert mount.split(":")[1] == "/etc/prometheus"


def test_collector_pipeline_is_wired_to_jaeger() -> None:
    config = load_yaml(COLLECTOR)
    pipeline = config["service"]["pipelines"]["traces"]
    for section in ("receivers", "processors", "exporters"):
        for name in pipeline[section]:
            assert name in config[section], f"{section} {name} used but not defined"
    assert config["receivers"]["otlp"]["protocols"]["http"]["endpoint"].endswith(":4318")
    exporter = config["exporters"][pipeline["exporters"][0]]
    assert exporter["endpoint"].split(":")[0] in compose()["services"]
    assert compose()["services"]["jaeger"]["environment"]["COLLECTOR_OTLP_ENABLED"] == "true"


def test_dockerfile_is_multi_stage_non_root_with_a_health_check() -> None:
    text = DOCKERFILE.read_text("utf-8")
    stages = re.findall(r"^FROM\s+\S+(?:\s+AS\s+(\S+))?", text, re.M | re.I)
    assert len(stages) >= 2
    final = text[text.rfind("\nFROM ") :]
    user = re.findall(r"^USER\s+(\S+)", final, re.M)
    assert user and user[-1].split(":")[0] not in ("0", "root")
    assert re.search(r"^HEALTHCHECK .*?/healthz", final, re.M | re.S)
    assert re.search(r'^ENTRYPOINT \["minwon"\]', final, re.M)
    for source in re.findall(r"^COPY\s+(?!--from)(\S+)", text, re.M):
        assert (ROOT / source).exists(), f"Dockerfile copies missing {source}"
    # the context filter keeps what the Dockerfile copies
    ignore = DOCKERFILE.with_name("Dockerfile.dockerignore").read_text("utf-8")
    for source in ("pyproject.toml", "libs", "services", "apps"):
        assert f"!{source}" in ignore


def test_compose_config_lists_the_web_front_and_every_service(tmp_path) -> None:
    """What `docker compose config` says of the file (Compose v2, or Debian's docker-compose v1: neither
    needs a Docker engine for `config`); make test installs docker-compose."""
    import os
    import shutil
    import subprocess

    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        command = ["docker", "compose"]
    elif shutil.which("docker-compose"):
        command = ["docker-compose"]
    else:
        message = "neither docker compose nor docker-compose is installed (make test installs docker-compose)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    env_file = tmp_path / "minwon.env"
    env_file.write_text(ROOT.joinpath("deploy/docker/minwon.env.example").read_text("utf-8"), "utf-8")
    done = subprocess.run(
        [
            *command,
            "--project-directory",
            str(ROOT),
            "-p",
            "minwon",
            "--env-file",
            str(env_file),
            "-f",
            str(ROOT / "docker-compose.yml"),
            "config",
            "--services",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    services = set(done.stdout.split())
    assert {"web", "api-gateway", *SERVICES} <= services, services

"""Helpers for the deployment tests: paths, settings' environment names, rendering kustomize overlays, and the
metric names that dashboards and alert rules use."""

from __future__ import annotations

import functools
import importlib
import importlib.util
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from pydantic import AliasChoices, AliasPath
from pydantic_settings import BaseSettings

from apps.registry import SERVICES
from minwon.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "deploy/docker/Dockerfile"
ENV_EXAMPLE = ROOT / "deploy/docker/minwon.env.example"
GATEWAY_COMPOSE = ROOT / "deploy/docker/api-gateway.conf"
GATEWAY_K8S = ROOT / "k8s/base/web/api-gateway.conf"
PROMETHEUS = ROOT / "deploy/prometheus/prometheus.yml"
ALERTS = ROOT / "deploy/prometheus/alerts.yml"
ALERT_TESTS = ROOT / "deploy/prometheus/alerts.test.yml"
RUNBOOKS = ROOT / "deploy/prometheus/runbooks.py"
COLLECTOR = ROOT / "deploy/otel/collector.yaml"
DASHBOARDS = ROOT / "deploy/grafana/dashboards"
GRAFANA_PROVISIONING = ROOT / "deploy/grafana/provisioning"
K8S = ROOT / "k8s"
OVERLAYS = ("county", "metro")
ADAPTER_VALUES = K8S / "overlays/metro/prometheus-adapter-values.yaml"
INSTALL = ROOT / "deploy/tools/install.sh"
OPERATIONS = ROOT / "docs/operations.md"
METRICS_DOC = ROOT / "docs/metrics.md"


# ---------------------------------------------------------------- settings -> environment variable names


def env_names(cls: type[BaseSettings]) -> set[str]:
    """The environment variables a pydantic-settings class reads (upper case: they are case-insensitive)."""
    prefix = cls.model_config.get("env_prefix", "") or ""
    names: set[str] = set()
    for field_name, info in cls.model_fields.items():
        alias = info.validation_alias
        if isinstance(alias, str):
            names.add(alias.upper())
        elif isinstance(alias, AliasChoices):
            names.update(c.upper() for c in alias.choices if isinstance(c, str))
        elif isinstance(alias, AliasPath):
            names.add(str(alias.path[0]).upper())
        else:
            names.add(f"{prefix}{info.alias or field_name}".upper())
    return names


def service_settings_classes(service: str) -> list[type[BaseSettings]]:
    """The BaseSettings classes defined in services/<service>/settings.py and agencies/public.py (the
    public stream's settings; none if the files do not exist)."""
    found: list[type[BaseSettings]] = []
    for part in ("settings", "agencies/public"):
        if not (ROOT / "services" / service / f"{part}.py").exists():
            continue
        module = importlib.import_module(f"services.{service}.{part.replace('/', '.')}")
        found += [
            obj
            for obj in vars(module).values()
            if isinstance(obj, type)
            and issubclass(obj, BaseSettings)
            and obj is not BaseSettings
            and obj.__module__ == module.__name__
        ]
    return found


@functools.cache
def env_read_by(service: str) -> frozenset[str]:
    """Every environment variable service ``service`` reads: the host's Settings plus its own."""
    names = env_names(Settings)
    for cls in service_settings_classes(service):
        names |= env_names(cls)
    return frozenset(names)


def env_read_by_any() -> frozenset[str]:
    """What any service or the web front (services/web/settings.py) reads."""
    return frozenset().union(*(env_read_by(s) for s in (*SERVICES, "web")))


def read_env_file(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text("utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition("=")
        out[key.strip()] = value.strip()
    return out


@functools.cache
def runbooks() -> Any:
    """deploy/prometheus/runbooks.py as a module (it is a script, not a package)."""
    spec = importlib.util.spec_from_file_location("minwon_runbooks", RUNBOOKS)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---------------------------------------------------------------- YAML and kustomize


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text("utf-8"))


def compose() -> dict[str, Any]:
    return load_yaml(COMPOSE)


def install_tool(name: str) -> str:
    """Build (first time) and return the cached binary of ``name`` via deploy/tools/install.sh."""
    done = subprocess.run(["bash", str(INSTALL), name], capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        raise RuntimeError(f"deploy/tools/install.sh {name} failed:\n{done.stderr[-4000:]}")
    return done.stdout.strip().splitlines()[-1]


@functools.cache
def kustomize_command() -> tuple[str, ...]:
    try:
        return (install_tool("kustomize"), "build")
    except (RuntimeError, FileNotFoundError) as exc:
        if shutil.which("kubectl"):
            return ("kubectl", "kustomize")
        raise RuntimeError(f"neither kustomize (go install) nor kubectl is available: {exc}") from exc


@functools.cache
def render(path: str) -> tuple[dict[str, Any], ...]:
    """The documents ``kustomize build k8s/<path>`` prints."""
    done = subprocess.run([*kustomize_command(), str(K8S / path)], capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise AssertionError(f"kustomize build k8s/{path} failed:\n{done.stderr}")
    return tuple(d for d in yaml.safe_load_all(done.stdout) if d)


def of_kind(docs: tuple[dict[str, Any], ...], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


# ---------------------------------------------------------------- metric names used by dashboards and rules

METRIC = re.compile(r"\bminwon_[a-z0-9_]+")


def dashboard_files() -> list[Path]:
    return sorted(DASHBOARDS.glob("*.json"))


def dashboard_expressions(dashboard: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(where, PromQL) for every panel target and query variable of a dashboard."""

    def panels(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for p in items:
            yield p
            yield from panels(p.get("panels", []))

    for panel in panels(dashboard.get("panels", [])):
        for target in panel.get("targets", []):
            if target.get("expr"):
                yield f"{dashboard['uid']} / {panel.get('title')}", target["expr"]
    for var in dashboard.get("templating", {}).get("list", []):
        query = var.get("query")
        text = query.get("query") if isinstance(query, dict) else query
        if text:
            yield f"{dashboard['uid']} / ${var['name']}", text


def rule_expressions() -> Iterator[tuple[str, str]]:
    for group in load_yaml(ALERTS)["groups"]:
        for rule in group["rules"]:
            yield f"{group['name']} / {rule.get('alert') or rule.get('record')}", rule["expr"]


def used_metrics() -> dict[str, set[str]]:
    """minwon_* metric name -> where it is used (dashboards, alert rules, the autoscaling adapter)."""
    used: dict[str, set[str]] = {}
    sources: list[tuple[str, str]] = list(rule_expressions())
    for path in dashboard_files():
        sources.extend(dashboard_expressions(json.loads(path.read_text("utf-8"))))
    for rule in load_yaml(ADAPTER_VALUES)["rules"]["custom"]:
        sources.append(("prometheus-adapter", rule["seriesQuery"]))
    for where, expr in sources:
        for name in METRIC.findall(expr):
            used.setdefault(name, set()).add(where)
    return used


def exposed_metrics(text: str) -> tuple[set[str], dict[str, str]]:
    """(sample names, {family name: type}) of a Prometheus text exposition."""
    samples: set[str] = set()
    types: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(maxsplit=3)
            types[name] = kind
        elif line and not line.startswith("#"):
            samples.add(re.split(r"[{\s]", line, maxsplit=1)[0])
    return samples, types


def missing_metrics(used: dict[str, set[str]], text: str) -> dict[str, set[str]]:
    samples, types = exposed_metrics(text)
    missing = {}
    for name, where in used.items():
        if name in samples or name in types:
            continue
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        if base != name and types.get(base) in ("histogram", "summary"):
            continue
        missing[name] = where
    return missing

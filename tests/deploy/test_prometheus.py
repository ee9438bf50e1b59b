"""Prometheus alert and recording rules: their structure, runbooks, and promtool's own checks and unit tests
(promtool is built from source by deploy/tools/install.sh and cached)."""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.deploy._deploy import (
    ALERT_TESTS,
    ALERTS,
    INSTALL,
    OPERATIONS,
    PROMETHEUS,
    RUNBOOKS,
    install_tool,
    load_yaml,
    runbooks,
)

DURATION = re.compile(r"^([0-9]+(ms|s|m|h|d|w|y))+$")
RECORD_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
REQUIRED = {  # what SRE asked to be paged about
    "overdue growing": "MinwonOverdueGrowing",
    "SLO burn rate": "MinwonDeadlineSLOBurnFast",
    "consumer lag": "MinwonConsumerLagHigh",
    "dead-letter topic not empty": "MinwonDeadLetters",
    "a service down": "MinwonServiceDown",
    "agency webhooks failing": "MinwonWebhookDeliveriesFailing",
    "agency webhook deliveries given up on": "MinwonWebhookDeliveriesDead",
}


def rules() -> list[dict]:
    return [rule for group in load_yaml(ALERTS)["groups"] for rule in group["rules"]]


def anchors(markdown: str) -> set[str]:
    """GitHub-style anchors of the headings of a markdown text."""
    out = set()
    for line in markdown.splitlines():
        if line.startswith("#"):
            text = line.lstrip("#").strip().lower()
            out.add(re.sub(r"[^\w\- ]", "", text).replace(" ", "-"))
    return out


def test_groups_and_rules_are_well_formed() -> None:
    groups = load_yaml(ALERTS)["groups"]
    assert len({g["name"] for g in groups}) == len(groups)
    for group in groups:
        if "interval" in group:
            assert DURATION.match(group["interval"])
        assert group["rules"], group["name"]
        for rule in group["rules"]:
            assert ("alert" in rule) != ("record" in rule), rule
            assert set(rule) <= {"alert", "record", "expr", "for", "keep_firing_for", "labels", "annotations"}
            expr = rule["expr"]
            assert isinstance(expr, str) and expr.strip()
            assert expr.count("(") == expr.count(")") and expr.count("{") == expr.count("}")
            assert expr.count("[") == expr.count("]")
            if "for" in rule:
                assert DURATION.match(rule["for"]), rule["for"]
            if "record" in rule:
                assert RECORD_NAME.match(rule["record"]) and "annotations" not in rule


def test_every_alert_has_a_severity_a_summary_and_a_runbook_that_exists() -> None:
    alerts = [r for r in rules() if "alert" in r]
    names = [a["alert"] for a in alerts]
    assert len(names) == len(set(names))
    headings = anchors(OPERATIONS.read_text("utf-8"))
    for alert in alerts:
        assert re.fullmatch(r"Minwon[A-Z][A-Za-z0-9]+", alert["alert"])
        assert alert["labels"]["severity"] in ("critical", "warning"), alert["alert"]
        assert alert["annotations"]["summary"] and alert["annotations"]["description"]
        runbook = alert["annotations"]["runbook_url"]
        base, _, anchor = runbook.partition("#")
        assert base == runbooks().DEFAULT and anchor in headings, f"{alert['alert']}: no runbook {runbook}"


def test_runbook_links_are_absolute_and_rendered_from_the_base_url() -> None:
    default = urlparse(runbooks().DEFAULT)
    assert default.scheme in ("http", "https") and default.netloc and default.path.endswith("/docs/operations.md")
    done = subprocess.run(
        [sys.executable, str(RUNBOOKS), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in os.environ.items() if k != "RUNBOOK_BASE_URL"},
    )
    assert done.returncode == 0, done.stderr
    # another base: every link of both files changes, the anchors stay
    text = ALERTS.read_text("utf-8")
    other = runbooks().render(text, "https://wiki.city.example/minwon/operations.md")
    before, after = runbooks().links(text), runbooks().links(other)
    assert len(after) == len(before) == sum(1 for r in rules() if "alert" in r)
    assert {a for _, a in after} == {a for _, a in before}
    assert {b for b, _ in after} == {"https://wiki.city.example/minwon/operations.md"}
    done = subprocess.run(
        [sys.executable, str(RUNBOOKS), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "RUNBOOK_BASE_URL": "https://wiki.city.example/minwon/operations.md"},
    )
    assert done.returncode == 1 and "not 'https://wiki.city.example" in done.stderr


def test_the_alerts_sre_asked_for_exist() -> None:
    names = {r.get("alert") for r in rules()}
    missing = {need: name for need, name in REQUIRED.items() if name not in names}
    assert not missing


def test_recorded_series_are_defined_before_use() -> None:
    recorded = {r["record"] for r in rules() if "record" in r}
    for rule in rules():
        for name in re.findall(r"\bminwon:[a-z0-9_:]+", rule["expr"]):
            assert name in recorded, f"{rule.get('alert') or rule.get('record')} uses undefined {name}"


def test_the_unit_tests_cover_every_required_alert() -> None:
    tested = {case["alertname"] for t in load_yaml(ALERT_TESTS)["tests"] for case in t.get("alert_rule_test", [])}
    assert set(REQUIRED.values()) <= tested


# ---------------------------------------------------------------- promtool


@functools.cache
def cached_promtool() -> str | None:
    done = subprocess.run(["bash", str(INSTALL), "path", "promtool"], capture_output=True, text=True, timeout=30)
    return done.stdout.strip() if done.returncode == 0 else None


def promtool() -> str:
    """The cached promtool; built when missing under CI=true (or MINWON_BUILD_TOOLS=1). Building compiles
    Prometheus from source (about 10 minutes on two cores, once per machine), so a laptop that has not built it
    skips these four tests with that instruction, as the infrastructure tests do (tests/conftest.py)."""
    found = cached_promtool()
    if found:
        return found
    if os.environ.get("CI", "").lower() == "true" or os.environ.get("MINWON_BUILD_TOOLS") == "1":
        return install_tool("promtool")
    pytest.skip("promtool is not built: run `bash deploy/tools/install.sh promtool` (once) or set MINWON_BUILD_TOOLS=1")


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([promtool(), *args], capture_output=True, text=True, timeout=300, cwd=cwd)


def test_promtool_checks_the_rules() -> None:
    done = run("check", "rules", str(ALERTS))
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(rules())} rules found" in done.stdout


def test_promtool_checks_the_config(tmp_path: Path) -> None:
    # the config names the rules file by its path inside the container; check it against the local copy
    config = PROMETHEUS.read_text("utf-8").replace("/etc/prometheus/alerts.yml", "alerts.yml")
    (tmp_path / "prometheus.yml").write_text(config, "utf-8")
    shutil.copy(ALERTS, tmp_path / "alerts.yml")
    done = run("check", "config", "prometheus.yml", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr


def test_promtool_unit_tests_of_the_alerts_pass() -> None:
    done = run("test", "rules", str(ALERT_TESTS), cwd=ALERT_TESTS.parent)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


@pytest.mark.parametrize("broken", ["sum(rate(minwon_bus_consumed_total[5m])", "rate(minwon_x_total)"])
def test_promtool_would_catch_a_broken_expression(tmp_path: Path, broken: str) -> None:
    path = tmp_path / "broken.yml"
    path.write_text(f"groups:\n  - name: b\n    rules:\n      - alert: B\n        expr: '{broken}'\n", "utf-8")
    assert run("check", "rules", str(path)).returncode != 0

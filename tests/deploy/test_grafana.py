"""Grafana: dashboards are valid JSON, generated, with unique stable uids, on the provisioned datasource."""

from __future__ import annotations

import importlib.util
import json
import re
import sys

import pytest

from tests.deploy._deploy import DASHBOARDS, GRAFANA_PROVISIONING, ROOT, compose, dashboard_files, load_yaml

# Stable uids: links, alerts and bookmarks point at them; renaming one breaks those.
EXPECTED = {
    "operations-overview.json": "minwon-ops-overview",
    "deadlines-board.json": "minwon-deadlines",
    "kafka-consumers.json": "minwon-kafka-consumers",
    "citizen-outcomes.json": "minwon-citizen-outcomes",
}


def generator():
    spec = importlib.util.spec_from_file_location("minwon_dashboards", ROOT / "deploy/grafana/dashboards.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def datasource_uids() -> set[str]:
    uids = set()
    for path in (GRAFANA_PROVISIONING / "datasources").glob("*.yml"):
        uids |= {d["uid"] for d in load_yaml(path)["datasources"]}
    return uids


def test_committed_dashboards_are_what_the_generator_builds() -> None:
    files = generator().render()
    assert set(files) == {p.name for p in dashboard_files()}
    for name, text in files.items():
        assert (DASHBOARDS / name).read_text("utf-8") == text, f"{name} is stale: run deploy/grafana/dashboards.py"


def test_the_four_dashboards_exist_with_stable_unique_uids() -> None:
    found = {p.name: json.loads(p.read_text("utf-8"))["uid"] for p in dashboard_files()}
    assert found == EXPECTED
    assert len(set(found.values())) == len(found)
    for uid in found.values():
        assert re.fullmatch(r"[a-z0-9-]{1,40}", uid)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_dashboard_is_well_formed(name: str) -> None:
    board = json.loads((DASHBOARDS / name).read_text("utf-8"))
    assert board["title"].startswith("minwon / ") and "minwon" in board["tags"]
    ids = []
    known = datasource_uids()
    queries = 0
    for panel in board["panels"]:
        ids.append(panel["id"])
        grid = panel["gridPos"]
        assert 0 <= grid["x"] and grid["x"] + grid["w"] <= 24, panel["title"]
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] in known, f"{panel['title']}: unknown datasource"
        assert panel["targets"], f"{panel['title']} has no query"
        for target in panel["targets"]:
            assert target["datasource"]["uid"] in known
            expr = target["expr"]
            assert expr.count("(") == expr.count(")") and expr.count("{") == expr.count("}"), expr
            queries += 1
    assert len(ids) == len(set(ids)), "panel ids repeat"
    assert queries >= 8
    for var in board["templating"]["list"]:
        assert var["datasource"]["uid"] in known


def test_dashboards_cover_what_sre_asked_for() -> None:
    text = {name: (DASHBOARDS / name).read_text("utf-8") for name in EXPECTED}
    for metric in (
        "minwon_intake_complaints_received_total",
        "minwon_intake_open_complaints",
        "minwon_deadline_overdue",
        "minwon_deadline_closed_total",
    ):
        assert metric in text["operations-overview.json"], metric
    for signal in ('signal=\\"warning\\"', "escalation", 'signal=\\"breached\\"', "by (department)"):
        assert signal in text["deadlines-board.json"], signal
    for metric in ("minwon_bus_consumer_lag", "minwon_bus_consumed_total", "minwon_bus_deadlettered_total"):
        assert metric in text["kafka-consumers.json"], metric
    for metric in (
        "minwon_notification_sent_total",
        "minwon_compensation_vouchers_granted_total",
        "minwon_survey_score_mean",
    ):
        assert metric in text["citizen-outcomes.json"], metric


def test_provisioning_points_grafana_at_the_mounted_dashboards() -> None:
    provider = load_yaml(GRAFANA_PROVISIONING / "dashboards/minwon.yml")["providers"][0]
    grafana = compose()["services"]["grafana"]
    mounts = dict(v.split(":")[:2] for v in grafana["volumes"] if v.startswith("./"))
    assert mounts["./deploy/grafana/dashboards"] == provider["options"]["path"]
    assert mounts["./deploy/grafana/provisioning"] == "/etc/grafana/provisioning"
    assert provider["allowUiUpdates"] is False
    home = grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home.startswith(provider["options"]["path"] + "/")
    assert (DASHBOARDS / home.rsplit("/", 1)[1]).is_file()
    datasources = load_yaml(GRAFANA_PROVISIONING / "datasources/minwon.yml")["datasources"]
    prometheus = next(d for d in datasources if d["type"] == "prometheus")
    assert prometheus["uid"] == "minwon-prometheus"
    assert prometheus["url"].split("//")[1].split(":")[0] in compose()["services"]

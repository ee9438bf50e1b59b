"""The minwon Grafana dashboards, as code.

    python deploy/grafana/dashboards.py          # (re)write deploy/grafana/dashboards/*.json
    python deploy/grafana/dashboards.py --check  # exit 1 if a committed file differs from what this builds

Grafana provisions the JSON files (deploy/grafana/provisioning/dashboards/minwon.yml); this module is where
they are edited, so every panel has the same shape, the uids stay stable and the datasource is always the
provisioned one (uid ``minwon-prometheus``). tests/deploy/test_grafana.py fails when the files and this module
disagree, and tests/deploy/test_metrics_coverage.py when a panel queries a metric the services do not expose.

Gauges computed from a store (open complaints, overdue, open clocks, unassigned, survey scores) are reported by
every replica with the same value: panels de-duplicate them with ``max without (instance, pod)``.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

OUT = Path(__file__).parent / "dashboards"
PROMETHEUS = {"type": "prometheus", "uid": "minwon-prometheus"}
WIDTH = 24


def dedup(metric: str) -> str:
    """A store-derived gauge, one value per label set however many replicas report it."""
    return f"max without (instance, pod) ({metric})"


@dataclass
class Target:
    expr: str
    legend: str = ""
    instant: bool = False


@dataclass
class Panel:
    title: str
    targets: list[Target]
    kind: str = "timeseries"
    unit: str = "short"
    description: str = ""
    width: int = 8
    height: int = 8
    thresholds: list[tuple[float | None, str]] = field(default_factory=lambda: [(None, "green")])
    decimals: int | None = None
    stack: bool = False
    minimum: float | None = None
    maximum: float | None = None

    def to_json(self, pid: int, x: int, y: int) -> dict[str, Any]:
        defaults: dict[str, Any] = {
            "unit": self.unit,
            "thresholds": {
                "mode": "absolute",
                "steps": [{"color": color, "value": value} for value, color in self.thresholds],
            },
            "color": {"mode": "thresholds" if self.kind in ("stat", "gauge", "bargauge") else "palette-classic"},
        }
        if self.decimals is not None:
            defaults["decimals"] = self.decimals
        if self.minimum is not None:
            defaults["min"] = self.minimum
        if self.maximum is not None:
            defaults["max"] = self.maximum
        if self.kind == "timeseries":
            defaults["custom"] = {
                "drawStyle": "line",
                "lineWidth": 1,
                "fillOpacity": 10,
                "showPoints": "never",
                "stacking": {"mode": "normal" if self.stack else "none", "group": "A"},
            }
        options: dict[str, Any]
        if self.kind == "stat":
            options = {
                "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                "colorMode": "background",
                "graphMode": "area",
                "textMode": "auto",
                "justifyMode": "auto",
                "orientation": "auto",
            }
        elif self.kind in ("gauge", "bargauge"):
            options = {
                "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                "showThresholdLabels": False,
                "showThresholdMarkers": True,
                "orientation": "horizontal",
            }
        elif self.kind == "table":
            options = {"showHeader": True, "cellHeight": "sm"}
        else:
            options = {
                "legend": {
                    "displayMode": "table",
                    "placement": "bottom",
                    "showLegend": True,
                    "calcs": ["lastNotNull", "max"],
                },
                "tooltip": {"mode": "multi", "sort": "desc"},
            }
        panel: dict[str, Any] = {
            "id": pid,
            "type": self.kind,
            "title": self.title,
            "description": self.description,
            "datasource": PROMETHEUS,
            "gridPos": {"x": x, "y": y, "w": self.width, "h": self.height},
            "fieldConfig": {"defaults": defaults, "overrides": []},
            "options": options,
            "targets": [
                {
                    "refId": chr(ord("A") + i),
                    "datasource": PROMETHEUS,
                    "expr": t.expr,
                    "legendFormat": t.legend or "__auto",
                    "instant": t.instant or self.kind in ("stat", "gauge", "bargauge", "table"),
                    "range": not (t.instant or self.kind in ("stat", "gauge", "bargauge", "table")),
                    **({"format": "table"} if self.kind == "table" else {}),
                }
                for i, t in enumerate(self.targets)
            ],
        }
        if self.kind == "table":
            panel["transformations"] = [
                {"id": "merge", "options": {}},
                {"id": "organize", "options": {"excludeByName": {"Time": True}}},
            ]
        return panel


@dataclass
class Row:
    title: str
    panels: list[Panel]


@dataclass
class Dashboard:
    uid: str
    title: str
    description: str
    rows: list[Row]
    variables: list[dict[str, Any]] = field(default_factory=list)
    time_from: str = "now-24h"
    links_to: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        panels: list[dict[str, Any]] = []
        pid = 1
        y = 0
        for row in self.rows:
            panels.append(
                {
                    "id": pid,
                    "type": "row",
                    "title": row.title,
                    "collapsed": False,
                    "gridPos": {"x": 0, "y": y, "w": WIDTH, "h": 1},
                    "panels": [],
                }
            )
            pid += 1
            y += 1
            x = 0
            line_height = 0
            for panel in row.panels:
                if x + panel.width > WIDTH:
                    x = 0
                    y += line_height
                    line_height = 0
                panels.append(panel.to_json(pid, x, y))
                pid += 1
                x += panel.width
                line_height = max(line_height, panel.height)
            y += line_height
        return {
            "uid": self.uid,
            "title": self.title,
            "description": self.description,
            "tags": ["minwon"],
            "timezone": "Asia/Seoul",
            "editable": False,
            "graphTooltip": 1,
            "schemaVersion": 39,
            "version": 1,
            "refresh": "30s",
            "time": {"from": self.time_from, "to": "now"},
            "timepicker": {},
            "fiscalYearStartMonth": 0,
            "liveNow": False,
            "weekStart": "monday",
            "annotations": {
                "list": [
                    {
                        "builtIn": 1,
                        "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                        "enable": True,
                        "hide": True,
                        "iconColor": "rgba(0, 211, 255, 1)",
                        "name": "Annotations & Alerts",
                        "type": "dashboard",
                    }
                ]
            },
            "links": [
                {
                    "title": "minwon dashboards",
                    "type": "dashboards",
                    "tags": ["minwon"],
                    "asDropdown": True,
                    "includeVars": False,
                    "keepTime": True,
                    "icon": "external link",
                    "targetBlank": False,
                    "tooltip": "",
                    "url": "",
                },
            ],
            "templating": {"list": self.variables},
            "panels": panels,
        }


def query_variable(name: str, label: str, query: str, *, multi: bool = True) -> dict[str, Any]:
    return {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": PROMETHEUS,
        "query": {"query": query, "refId": f"{name}-values"},
        "definition": query,
        "refresh": 2,
        "includeAll": True,
        "allValue": ".*",
        "multi": multi,
        "sort": 1,
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "options": [],
        "hide": 0,
    }


GOOD_BAD = [(None, "red"), (0.95, "orange"), (0.99, "green")]
LOW_HIGH = [(None, "green"), (1, "orange"), (10, "red")]
LATE_CLOSED = (
    'sum(rate(minwon_deadline_closed_total{within_period="false"}[%s])) / sum(rate(minwon_deadline_closed_total[%s]))'
)


def operations_overview() -> Dashboard:
    return Dashboard(
        uid="minwon-ops-overview",
        title="minwon / Operations overview",
        description="Is the city keeping up? Intake rate, backlog, overdue complaints, the deadline SLO, and the "
        "health of the six services. Runbooks: docs/operations.md.",
        rows=[
            Row(
                "Right now",
                [
                    Panel(
                        "Services up",
                        [Target('sum(up{job="minwon"})')],
                        kind="stat",
                        width=4,
                        height=5,
                        description="minwon services Prometheus can scrape (six when distributed).",
                        thresholds=[(None, "red"), (6, "green")],
                    ),
                    Panel(
                        "Received today",
                        [Target("sum(increase(minwon_intake_complaints_received_total[1d]))")],
                        kind="stat",
                        width=4,
                        height=5,
                        decimals=0,
                        description="Complaints filed in the last 24 hours, all channels.",
                    ),
                    Panel(
                        "Open backlog",
                        [Target(f"sum({dedup('minwon_intake_open_complaints')})")],
                        kind="stat",
                        width=4,
                        height=5,
                        decimals=0,
                        description="Complaints received and not yet closed, withdrawn or transferred.",
                    ),
                    Panel(
                        "Overdue now",
                        [Target(f"sum({dedup('minwon_deadline_overdue')})")],
                        kind="stat",
                        width=4,
                        height=5,
                        decimals=0,
                        thresholds=LOW_HIGH,
                        description="Open complaints past their legal due time (처리기한 경과).",
                    ),
                    Panel(
                        "On time (30 days)",
                        [Target("1 - (" + LATE_CLOSED % ("30d", "30d") + ")")],
                        kind="stat",
                        unit="percentunit",
                        width=4,
                        height=5,
                        decimals=2,
                        thresholds=GOOD_BAD,
                        description="Deadline SLO: share of closures within the legal period over 30 days "
                        "(objective 99%).",
                    ),
                    Panel(
                        "Error budget left (30 days)",
                        [Target("1 - ((" + LATE_CLOSED % ("30d", "30d") + ") / 0.01)")],
                        kind="stat",
                        unit="percentunit",
                        width=4,
                        height=5,
                        decimals=1,
                        thresholds=[(None, "red"), (0.25, "orange"), (0.5, "green")],
                        description="What is left of the 1% late-closure budget of the 30-day window.",
                    ),
                ],
            ),
            Row(
                "Intake",
                [
                    Panel(
                        "Complaints received per minute, by channel",
                        [
                            Target(
                                "sum by (channel) (rate(minwon_intake_complaints_received_total[5m])) * 60",
                                "{{channel}}",
                            )
                        ],
                        unit="short",
                        width=12,
                        stack=True,
                        description="Peaks (typhoon days, policy launches) show here first; scale intake per "
                        "docs/operations.md.",
                    ),
                    Panel(
                        "Complaints received per minute, by kind",
                        [Target("sum by (kind) (rate(minwon_intake_complaints_received_total[5m])) * 60", "{{kind}}")],
                        unit="short",
                        width=12,
                        stack=True,
                    ),
                    Panel(
                        "Backlog by status",
                        [Target(f"sum by (status) ({dedup('minwon_intake_open_complaints')})", "{{status}}")],
                        width=12,
                        stack=True,
                    ),
                    Panel(
                        "Lifecycle commands per hour",
                        [Target("sum by (command) (increase(minwon_intake_commands_total[1h]))", "{{command}}")],
                        width=12,
                        stack=True,
                        description="Closures, supplementation requests, extensions, transfers, withdrawals.",
                    ),
                ],
            ),
            Row(
                "Routing and deadlines",
                [
                    Panel(
                        "Routed per minute, by department",
                        [Target("sum by (department) (rate(minwon_routing_routed_total[5m])) * 60", "{{department}}")],
                        width=8,
                        stack=True,
                    ),
                    Panel(
                        "Waiting for a handler",
                        [Target(f"sum({dedup('minwon_routing_unassigned')})", "unassigned")],
                        width=8,
                        description="Routed complaints with no handler yet; one must be assigned within 1 working day.",
                    ),
                    Panel(
                        "Overdue by department",
                        [Target(f"sum by (department) ({dedup('minwon_deadline_overdue')})", "{{department}}")],
                        width=8,
                        stack=True,
                    ),
                    Panel(
                        "Deadline SLO burn rate",
                        [
                            Target("(" + LATE_CLOSED % ("1h", "1h") + ") / 0.01", "1h"),
                            Target("(" + LATE_CLOSED % ("6h", "6h") + ") / 0.01", "6h"),
                        ],
                        width=12,
                        thresholds=[(None, "green"), (6, "orange"), (14.4, "red")],
                        description="1 = spending the error budget exactly over 30 days. Alerts at 14.4 (1h) "
                        "and 6 (6h).",
                    ),
                    Panel(
                        "Closures within / after the legal period",
                        [
                            Target(
                                "sum by (within_period) (increase(minwon_deadline_closed_total[1h]))",
                                "within period: {{within_period}}",
                            )
                        ],
                        width=12,
                        stack=True,
                    ),
                ],
            ),
            Row(
                "Services",
                [
                    Panel(
                        "HTTP requests per second, by service",
                        [Target("sum by (service) (rate(minwon_http_requests_total[5m]))", "{{service}}")],
                        width=8,
                    ),
                    Panel(
                        "HTTP 5xx ratio, by service",
                        [
                            Target(
                                'sum by (service) (rate(minwon_http_requests_total{status=~"5.."}[5m])) / '
                                "sum by (service) (rate(minwon_http_requests_total[5m]))",
                                "{{service}}",
                            )
                        ],
                        unit="percentunit",
                        width=8,
                        thresholds=[(None, "green"), (0.05, "red")],
                    ),
                    Panel(
                        "HTTP latency p95, by service",
                        [
                            Target(
                                "histogram_quantile(0.95, sum by (service, le) "
                                "(rate(minwon_http_request_duration_seconds_bucket[5m])))",
                                "{{service}}",
                            )
                        ],
                        unit="s",
                        width=8,
                    ),
                    Panel(
                        "Scrape status",
                        [Target('up{job="minwon"}', "{{component}} {{instance}}")],
                        width=24,
                        height=6,
                        minimum=0,
                        maximum=1,
                    ),
                ],
            ),
        ],
    )


def deadlines_board() -> Dashboard:
    dept = 'department=~"$department"'
    return Dashboard(
        uid="minwon-deadlines",
        title="minwon / Deadlines board",
        description="Legal clocks: pre-warnings (사전예고, 2 working days before the due time), escalations, "
        "breaches and SLA misses, by department.",
        variables=[
            query_variable("department", "Department", "label_values(minwon_deadline_signals_total, department)")
        ],
        time_from="now-7d",
        rows=[
            Row(
                "Now",
                [
                    Panel(
                        "Open clocks",
                        [Target(f"sum({dedup('minwon_deadline_open_clocks')})")],
                        kind="stat",
                        width=4,
                        height=5,
                        decimals=0,
                        description="Complaints whose legal clock is running or paused.",
                    ),
                    Panel(
                        "Overdue",
                        [Target(f"sum({dedup('minwon_deadline_overdue')})")],
                        kind="stat",
                        width=4,
                        height=5,
                        decimals=0,
                        thresholds=LOW_HIGH,
                    ),
                    Panel(
                        "Pre-warnings (24h)",
                        [Target('sum(increase(minwon_deadline_signals_total{signal="warning"}[1d]))')],
                        kind="stat",
                        width=4,
                        height=5,
                        decimals=0,
                        thresholds=[(None, "green"), (20, "orange")],
                    ),
                    Panel(
                        "Escalations (24h)",
                        [Target('sum(increase(minwon_deadline_signals_total{signal=~"escalation\\\\..+"}[1d]))')],
                        kind="stat",
                        width=4,
                        height=5,
                        decimals=0,
                        thresholds=LOW_HIGH,
                    ),
                    Panel(
                        "Breaches (24h)",
                        [Target('sum(increase(minwon_deadline_signals_total{signal="breached"}[1d]))')],
                        kind="stat",
                        width=4,
                        height=5,
                        decimals=0,
                        thresholds=LOW_HIGH,
                    ),
                    Panel(
                        "Timer lateness p99",
                        [
                            Target(
                                "histogram_quantile(0.99, sum by (le) "
                                "(rate(minwon_deadline_timer_lateness_seconds_bucket[10m])))"
                            )
                        ],
                        kind="stat",
                        unit="s",
                        width=4,
                        height=5,
                        thresholds=[(None, "green"), (60, "orange"), (300, "red")],
                        description="How late signals fire after their scheduled time; alert above 5 minutes.",
                    ),
                ],
            ),
            Row(
                "By department",
                [
                    Panel(
                        "Breaches by department (time range)",
                        [
                            Target(
                                f"sort_desc(sum by (department) (increase(minwon_deadline_signals_total"
                                f'{{signal="breached", {dept}}}[$__range])))',
                                "{{department}}",
                            )
                        ],
                        kind="bargauge",
                        width=8,
                        height=10,
                        decimals=0,
                        thresholds=LOW_HIGH,
                    ),
                    Panel(
                        "Escalations by department (time range)",
                        [
                            Target(
                                f"sort_desc(sum by (department) (increase(minwon_deadline_signals_total"
                                f'{{signal=~"escalation\\\\..+", {dept}}}[$__range])))',
                                "{{department}}",
                            )
                        ],
                        kind="bargauge",
                        width=8,
                        height=10,
                        decimals=0,
                        thresholds=LOW_HIGH,
                    ),
                    Panel(
                        "Pre-warnings by department (time range)",
                        [
                            Target(
                                f"sort_desc(sum by (department) (increase(minwon_deadline_signals_total"
                                f'{{signal="warning", {dept}}}[$__range])))',
                                "{{department}}",
                            )
                        ],
                        kind="bargauge",
                        width=8,
                        height=10,
                        decimals=0,
                        thresholds=[(None, "green"), (20, "orange")],
                    ),
                    Panel(
                        "Overdue by department",
                        [
                            Target(
                                f"sort_desc(sum by (department) ({dedup('minwon_deadline_overdue')}))", "{{department}}"
                            )
                        ],
                        kind="table",
                        width=12,
                        height=10,
                    ),
                    Panel(
                        "On-time closure ratio by department (time range)",
                        [
                            Target(
                                f"sum by (department) (increase(minwon_deadline_closed_total"
                                f'{{within_period="true", {dept}}}[$__range])) / sum by (department) '
                                f"(increase(minwon_deadline_closed_total{{{dept}}}[$__range]))",
                                "{{department}}",
                            )
                        ],
                        kind="bargauge",
                        unit="percentunit",
                        width=12,
                        height=10,
                        decimals=1,
                        minimum=0,
                        maximum=1,
                        thresholds=GOOD_BAD,
                    ),
                ],
            ),
            Row(
                "Signals over time",
                [
                    Panel(
                        "Signals per hour, by kind",
                        [
                            Target(
                                f"sum by (signal) (increase(minwon_deadline_signals_total{{{dept}}}[1h]))", "{{signal}}"
                            )
                        ],
                        width=12,
                        height=9,
                        stack=True,
                    ),
                    Panel(
                        "SLA misses per hour (forwarding, assignment, first response)",
                        [
                            Target(
                                f"sum by (signal) (increase(minwon_deadline_signals_total"
                                f'{{signal=~"sla\\\\..+", {dept}}}[1h]))',
                                "{{signal}}",
                            )
                        ],
                        width=12,
                        height=9,
                        stack=True,
                        description="Mail/fax forwarded within 1 working hour, a handler within 1 working day, "
                        "first action on daily-life complaints within 24 hours.",
                    ),
                    Panel(
                        "Assignments per hour, by department",
                        [
                            Target(
                                f"sum by (department) (increase(minwon_routing_assigned_total{{{dept}}}[1h]))",
                                "{{department}}",
                            )
                        ],
                        width=12,
                        height=9,
                        stack=True,
                    ),
                    Panel(
                        "Timer lateness",
                        [
                            Target(
                                "histogram_quantile(0.5, sum by (le) "
                                "(rate(minwon_deadline_timer_lateness_seconds_bucket[10m])))",
                                "p50",
                            ),
                            Target(
                                "histogram_quantile(0.99, sum by (le) "
                                "(rate(minwon_deadline_timer_lateness_seconds_bucket[10m])))",
                                "p99",
                            ),
                        ],
                        unit="s",
                        width=12,
                        height=9,
                    ),
                ],
            ),
        ],
    )


def kafka_consumers() -> Dashboard:
    group = 'group=~"$group"'
    return Dashboard(
        uid="minwon-kafka-consumers",
        title="minwon / Kafka consumers",
        description="Every consumer group (minwon-<service>): lag per topic and partition, throughput, handler "
        "errors and retries, processing time, and the dead-letter topic.",
        variables=[query_variable("group", "Consumer group", "label_values(minwon_bus_consumed_total, group)")],
        time_from="now-6h",
        rows=[
            Row(
                "Lag",
                [
                    Panel(
                        "Total lag",
                        [Target(f"sum(max by (group, topic, partition) (minwon_bus_consumer_lag{{{group}}}))")],
                        kind="stat",
                        width=6,
                        height=5,
                        decimals=0,
                        thresholds=[(None, "green"), (100, "orange"), (1000, "red")],
                    ),
                    Panel(
                        "Dead-lettered (24h)",
                        [Target(f"sum(increase(minwon_bus_deadlettered_total{{{group}}}[1d]))")],
                        kind="stat",
                        width=6,
                        height=5,
                        decimals=0,
                        thresholds=[(None, "green"), (1, "red")],
                        description="Events given up on after retries, now on minwon.deadletter.v1.",
                    ),
                    Panel(
                        "Handler errors (1h)",
                        [Target(f'sum(increase(minwon_bus_consumed_total{{outcome="error", {group}}}[1h]))')],
                        kind="stat",
                        width=6,
                        height=5,
                        decimals=0,
                        thresholds=[(None, "green"), (1, "orange")],
                    ),
                    Panel(
                        "Consumed per second",
                        [Target(f'sum(rate(minwon_bus_consumed_total{{outcome="ok", {group}}}[5m]))')],
                        kind="stat",
                        width=6,
                        height=5,
                        unit="ops",
                    ),
                    Panel(
                        "Lag by group and topic",
                        [
                            Target(
                                f"sum by (group, topic) (max by (group, topic, partition) "
                                f"(minwon_bus_consumer_lag{{{group}}}))",
                                "{{group}} ← {{topic}}",
                            )
                        ],
                        width=12,
                        height=9,
                        thresholds=[(None, "green"), (1000, "red")],
                    ),
                    Panel(
                        "Lag by partition",
                        [
                            Target(
                                f"max by (group, topic, partition) (minwon_bus_consumer_lag{{{group}}})",
                                "{{group}} {{topic}}[{{partition}}]",
                            )
                        ],
                        width=12,
                        height=9,
                        description="One hot partition (a receipt-number key skew) shows as one line; more replicas "
                        "do not help past 12 (the partition count).",
                    ),
                ],
            ),
            Row(
                "Throughput",
                [
                    Panel(
                        "Consumed per second, by group",
                        [
                            Target(
                                f'sum by (group) (rate(minwon_bus_consumed_total{{outcome="ok", {group}}}[5m]))',
                                "{{group}}",
                            )
                        ],
                        unit="ops",
                        width=8,
                        height=9,
                    ),
                    Panel(
                        "Published per second, by topic",
                        [Target("sum by (topic) (rate(minwon_bus_published_total[5m]))", "{{topic}}")],
                        unit="ops",
                        width=8,
                        height=9,
                    ),
                    Panel(
                        "Processing time p95, by group",
                        [
                            Target(
                                f"histogram_quantile(0.95, sum by (group, le) "
                                f"(rate(minwon_bus_processing_seconds_bucket{{{group}}}[5m])))",
                                "{{group}}",
                            )
                        ],
                        unit="s",
                        width=8,
                        height=9,
                    ),
                ],
            ),
            Row(
                "Failures",
                [
                    Panel(
                        "Handler errors per second, by group and topic",
                        [
                            Target(
                                f'sum by (group, topic) (rate(minwon_bus_consumed_total{{outcome="error", {group}}}'
                                f"[5m]))",
                                "{{group}} ← {{topic}}",
                            )
                        ],
                        unit="ops",
                        width=8,
                        height=9,
                    ),
                    Panel(
                        "Retries per second, by group and topic",
                        [
                            Target(
                                f"sum by (group, topic) (rate(minwon_bus_retries_total{{{group}}}[5m]))",
                                "{{group}} ← {{topic}}",
                            )
                        ],
                        unit="ops",
                        width=8,
                        height=9,
                    ),
                    Panel(
                        "Dead-lettered (time range), by group and topic",
                        [
                            Target(
                                f"sort_desc(sum by (group, topic) "
                                f"(increase(minwon_bus_deadlettered_total{{{group}}}[$__range])))"
                            )
                        ],
                        kind="table",
                        width=8,
                        height=9,
                    ),
                ],
            ),
        ],
    )


def citizen_outcomes() -> Dashboard:
    return Dashboard(
        uid="minwon-citizen-outcomes",
        title="minwon / Citizen outcomes",
        description="What citizens get: notices delivered (SMS, AlimTalk, e-mail, post), culture vouchers for "
        "missed deadlines and staff-error revisits, and satisfaction survey results.",
        time_from="now-30d",
        rows=[
            Row(
                "Notifications",
                [
                    Panel(
                        "Delivered (time range)",
                        [Target('sum(increase(minwon_notification_sent_total{outcome="sent"}[$__range]))')],
                        kind="stat",
                        width=6,
                        height=5,
                        decimals=0,
                    ),
                    Panel(
                        "Delivery success (24h)",
                        [
                            Target(
                                'sum(increase(minwon_notification_sent_total{outcome="sent"}[1d])) / '
                                'sum(increase(minwon_notification_sent_total{outcome=~"sent|failed"}[1d]))'
                            )
                        ],
                        kind="stat",
                        unit="percentunit",
                        width=6,
                        height=5,
                        decimals=1,
                        thresholds=GOOD_BAD,
                    ),
                    Panel(
                        "Given up (time range)",
                        [Target("sum(increase(minwon_notification_dead_total[$__range]))")],
                        kind="stat",
                        width=6,
                        height=5,
                        decimals=0,
                        thresholds=[(None, "green"), (1, "red")],
                    ),
                    Panel(
                        "Held for quiet hours",
                        [Target(f"sum({dedup('minwon_notification_deferred')})")],
                        kind="stat",
                        width=6,
                        height=5,
                        decimals=0,
                        description="SMS and AlimTalk wait out 21:00–08:00 and non-working days.",
                    ),
                    Panel(
                        "Provider calls per hour, by channel and outcome",
                        [
                            Target(
                                "sum by (channel, outcome) (increase(minwon_notification_sent_total[1h]))",
                                "{{channel}} {{outcome}}",
                            )
                        ],
                        width=24,
                        height=9,
                        stack=True,
                    ),
                ],
            ),
            Row(
                "Compensation (문화상품권)",
                [
                    Panel(
                        "Vouchers granted (time range)",
                        [Target("sum(increase(minwon_compensation_vouchers_granted_total[$__range]))")],
                        kind="stat",
                        width=6,
                        height=5,
                        decimals=0,
                    ),
                    Panel(
                        "Granted (time range)",
                        [Target("sum(increase(minwon_compensation_granted_krw_total[$__range]))")],
                        kind="stat",
                        unit="currencyKRW",
                        width=6,
                        height=5,
                        decimals=0,
                    ),
                    Panel(
                        "Refused (time range)",
                        [Target("sum(increase(minwon_compensation_refused_total[$__range]))")],
                        kind="stat",
                        width=6,
                        height=5,
                        decimals=0,
                        description="Budget spent, or rejected by an approver.",
                    ),
                    Panel(
                        "Reversed (time range)",
                        [Target("sum(increase(minwon_compensation_reversed_total[$__range]))")],
                        kind="stat",
                        width=6,
                        height=5,
                        decimals=0,
                    ),
                    Panel(
                        "Vouchers per day, by cause",
                        [
                            Target(
                                "sum by (cause) (increase(minwon_compensation_vouchers_granted_total[1d]))", "{{cause}}"
                            )
                        ],
                        width=12,
                        height=9,
                        stack=True,
                    ),
                    Panel(
                        "Missed periods the charter excludes, by reason (time range)",
                        [
                            Target(
                                "sort_desc(sum by (reason) "
                                "(increase(minwon_compensation_breaches_excluded_total[$__range])))",
                                "{{reason}}",
                            )
                        ],
                        kind="bargauge",
                        width=12,
                        height=9,
                        decimals=0,
                        description="Immediate complaints, petitions, supplementation or extension: no voucher.",
                    ),
                ],
            ),
            Row(
                "Satisfaction",
                [
                    Panel(
                        "Mean score this year",
                        [Target(f"avg({dedup('minwon_survey_score_mean')})")],
                        kind="gauge",
                        width=6,
                        height=8,
                        decimals=2,
                        minimum=1,
                        maximum=5,
                        thresholds=[(None, "red"), (3, "orange"), (4, "green")],
                    ),
                    Panel(
                        "Responses (time range)",
                        [Target("sum(increase(minwon_survey_responses_total[$__range]))")],
                        kind="stat",
                        width=6,
                        height=8,
                        decimals=0,
                    ),
                    Panel(
                        "Response rate (time range)",
                        [
                            Target(
                                "sum(increase(minwon_survey_responses_total[$__range])) / "
                                "sum(increase(minwon_survey_invitations_total[$__range]))"
                            )
                        ],
                        kind="stat",
                        unit="percentunit",
                        width=6,
                        height=8,
                        decimals=1,
                    ),
                    Panel(
                        "Improvement actions overdue",
                        [Target(f"sum({dedup('minwon_survey_actions_overdue')})")],
                        kind="stat",
                        width=6,
                        height=8,
                        decimals=0,
                        thresholds=[(None, "green"), (1, "red")],
                        description="Improvements not published within 3 months of the results (charter).",
                    ),
                    Panel(
                        "Mean score by department",
                        [Target(f"sort_desc({dedup('minwon_survey_score_mean')})", "{{department}}")],
                        kind="bargauge",
                        width=12,
                        height=10,
                        decimals=2,
                        minimum=1,
                        maximum=5,
                        thresholds=[(None, "red"), (3, "orange"), (4, "green")],
                    ),
                    Panel(
                        "Low scores by department (time range)",
                        [
                            Target(
                                "sort_desc(sum by (department) (increase(minwon_survey_low_scores_total[$__range])))",
                                "{{department}}",
                            )
                        ],
                        kind="bargauge",
                        width=12,
                        height=10,
                        decimals=0,
                        thresholds=LOW_HIGH,
                    ),
                ],
            ),
        ],
    )


DASHBOARDS = {
    "operations-overview.json": operations_overview,
    "deadlines-board.json": deadlines_board,
    "kafka-consumers.json": kafka_consumers,
    "citizen-outcomes.json": citizen_outcomes,
}


def render() -> dict[str, str]:
    return {
        name: json.dumps(build().to_json(), ensure_ascii=False, indent=2) + "\n" for name, build in DASHBOARDS.items()
    }


def main(argv: list[str]) -> int:
    files = render()
    if "--check" in argv:
        stale = [n for n, text in files.items() if not (OUT / n).exists() or (OUT / n).read_text("utf-8") != text]
        for name in stale:
            print(f"{OUT / name} is out of date: run python {Path(__file__).as_posix()}", file=sys.stderr)
        return 1 if stale else 0
    OUT.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (OUT / name).write_text(text, "utf-8")
        print(OUT / name)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

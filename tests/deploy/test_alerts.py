"""The alert rules parse as PromQL and only name metrics the services really export."""

from __future__ import annotations

import re
from pathlib import Path

import promql_parser
import pytest
import yaml

from shared.infra import metrics

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "alerts.yaml"
SEVERITIES = {"page", "warning", "ticket"}
FROM_PROMETHEUS = {"up"}  # series Prometheus itself records


def _rules() -> list[dict]:
    return [rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]]


def _selected_metrics(node) -> set[str]:
    """Every metric a PromQL expression selects, walking the parsed syntax tree."""
    if type(node).__name__ == "VectorSelector":
        return {node.name}
    found: set[str] = set()
    for attribute in ("lhs", "rhs", "expr", "args", "param", "vector_selector"):
        child = getattr(node, attribute, None)
        for item in child if isinstance(child, list) else [child]:
            if item is not None and type(item).__module__.startswith("promql_parser"):
                found |= _selected_metrics(item)
    return found


def _exported_metrics() -> set[str]:
    """Metric families the code defines: prometheus_client collectors and database gauges."""
    names = set()
    for value in vars(metrics).values():
        if hasattr(value, "_name") and hasattr(value, "_type"):
            suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count"]}.get(value._type, [""])
            base = value._name.removesuffix("_total")
            names |= {base + suffix for suffix in suffixes}
    for source in [*ROOT.glob("shared/**/*.py"), *ROOT.glob("services/*/bootstrap.py")]:
        names |= set(re.findall(r'metrics\.Reading\(\s*"(\w+)"', source.read_text()))
    return names


@pytest.mark.parametrize("rule", _rules(), ids=lambda rule: rule["alert"])
def test_each_alert_is_valid_promql_with_a_severity_and_a_what_to_do(rule):
    expression = promql_parser.parse(rule["expr"])

    assert _selected_metrics(expression) <= _exported_metrics() | FROM_PROMETHEUS
    assert rule["labels"]["severity"] in SEVERITIES
    assert rule["annotations"]["summary"] and rule["annotations"]["description"]
    assert re.fullmatch(r"\d+[smhd]", rule["for"])


def test_the_operator_is_alerted_on_every_way_the_loop_can_silently_break():
    watched = set().union(*(_selected_metrics(promql_parser.parse(rule["expr"])) for rule in _rules()))
    assert {
        "outbox_oldest_age_seconds",
        "consumer_lag_messages",
        "dead_letters_open",
        "notifications",
        "contributions_overdue",
    } <= watched

"""kubernetes/base/monitoring: the alert rules pass promtool, the monitors select what the lead's manifests use."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import IN_CI

MONITORING = Path(__file__).resolve().parents[2] / "kubernetes" / "base" / "monitoring"


def _load(name: str) -> dict:
    return yaml.safe_load((MONITORING / name).read_text())


def test_kustomization_lists_every_monitoring_manifest():
    kustomization = _load("kustomization.yaml")
    assert sorted(kustomization["resources"]) == ["podmonitor.yaml", "prometheusrule.yaml", "servicemonitor.yaml"]
    generator = kustomization["configMapGenerator"][0]
    assert generator["options"]["labels"] == {"grafana_dashboard": "1"}
    assert generator["files"] == ["dashboards/sixdeg.json"]
    dashboard = json.loads((MONITORING / "dashboards" / "sixdeg.json").read_text())
    assert dashboard["uid"] == "sixdeg-overview" and dashboard["panels"]


def test_monitors_select_the_documented_labels_and_ports():
    service = _load("servicemonitor.yaml")
    assert service["kind"] == "ServiceMonitor"
    assert service["spec"]["selector"]["matchLabels"] == {
        "app.kubernetes.io/name": "sixdeg",
        "app.kubernetes.io/component": "api",
    }
    assert [(e["port"], e["path"]) for e in service["spec"]["endpoints"]] == [("http", "/metrics")]
    pod = _load("podmonitor.yaml")
    assert pod["kind"] == "PodMonitor"
    assert pod["spec"]["selector"]["matchLabels"] == {"app.kubernetes.io/name": "sixdeg"}
    assert pod["spec"]["selector"]["matchExpressions"][0]["values"] == ["worker", "scheduler"]
    assert [e["port"] for e in pod["spec"]["podMetricsEndpoints"]] == ["metrics"]


def test_every_alert_has_a_severity_summary_and_duration():
    rule = _load("prometheusrule.yaml")
    assert (rule["apiVersion"], rule["kind"]) == ("monitoring.coreos.com/v1", "PrometheusRule")
    for group in rule["spec"]["groups"]:
        for alert in group["rules"]:
            assert alert["labels"]["severity"] in ("page", "warning"), alert["alert"]
            assert alert["annotations"]["summary"] and alert["for"], alert["alert"]


def test_promtool_accepts_the_rules(tmp_path):
    promtool = shutil.which("promtool")
    if promtool is None:
        message = "promtool is not installed; `bash servers/promtool.sh` installs it (Debian's prometheus package)"
        if IN_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump({"groups": _load("prometheusrule.yaml")["spec"]["groups"]}))
    done = subprocess.run([promtool, "check", "rules", str(rules)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout

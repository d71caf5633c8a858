"""/metrics: product metrics after a real import (parsed with prometheus_client's parser), request ids, access,
and every metric the alert rules and the dashboard use is one sixdeg or Dramatiq exports."""

from __future__ import annotations

import inspect
import json
import re

import yaml
from prometheus_client.parser import text_string_to_metric_families

from pipelines.db import unit_of_work
from pipelines.models import OutboxMessage
from pipelines.observability import metrics
from tests.api.conftest import bearer
from tests.api.test_imports_api import CARDS, _upload, _wait_done
from tests.conftest import ROOT

MONITORING = ROOT / "kubernetes" / "base" / "monitoring"


def _samples(client) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.get_data(as_text=True))
        for s in family.samples
    }


def _value(samples, name, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_product_metrics_after_an_import(app, alice, running_worker):
    client = app.test_client()
    before = _samples(client)
    response = _upload(client, alice, CARDS)
    assert response.status_code == 202
    done = _wait_done(client, alice, response.get_json()["url"])
    assert (done["contacts"], done["errors"]) == (2, 1)
    after = _samples(client)

    def delta(name, **labels):
        return _value(after, name, **labels) - _value(before, name, **labels)

    assert delta("sixdeg_imports_started_total") == 1
    assert delta("sixdeg_imports_finished_total") == 1
    assert delta("sixdeg_imports_failed_total") == 0
    assert delta("sixdeg_contacts_imported_total") == 2
    assert delta("sixdeg_import_rows_rejected_total") == 1
    assert delta("sixdeg_http_requests_total", method="POST", route="/v1/imports", status="202") == 1
    assert delta("sixdeg_http_request_duration_seconds_count", method="POST", route="/v1/imports") == 1
    assert _value(after, "sixdeg_outbox_oldest_unsent_age_seconds") >= 0
    assert ("sixdeg_dead_letter_messages", (("queue", "imports"),)) in after
    assert _value(after, "sixdeg_backup_last_success_age_seconds") == float("inf")  # no backup in this data dir
    assert _value(after, "sixdeg_probe_up", probe="outbox") == 1


def test_request_ids_are_echoed_or_made_and_follow_the_work(app, alice):
    client = app.test_client()
    given = client.get("/healthz", headers={"X-Request-ID": "trace-abc.123"})
    assert given.headers["X-Request-ID"] == "trace-abc.123"
    made = client.get("/healthz", headers={"X-Request-ID": "not a valid id; <script>"})
    assert re.fullmatch(r"[0-9a-f]{32}", made.headers["X-Request-ID"])
    response = client.post(
        "/v1/imports",
        headers={**bearer(alice), "X-Request-ID": "req-import-42"},
        data={"file": (__import__("io").BytesIO(CARDS.encode()), "phone.vcf")},
    )
    assert response.status_code == 202
    with unit_of_work(app.config["SIXDEG"]) as session:
        row = session.query(OutboxMessage).order_by(OutboxMessage.id.desc()).first()
        assert row.actor_name == "contacts.import_file"
        assert row.options["request_id"] == "req-import-42"


def test_metrics_is_not_served_through_a_proxy_or_when_off(app):
    client = app.test_client()
    assert client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 404
    assert client.get("/metrics", headers={"Forwarded": "for=203.0.113.9"}).status_code == 404
    for _ in range(3):  # never rate-limited, never authenticated
        assert client.get("/metrics").status_code == 200
    from dataclasses import replace

    app.config["SIXDEG"] = replace(app.config["SIXDEG"], metrics=False)
    assert client.get("/metrics").status_code == 404


def _dramatiq_metric_names() -> set[str]:
    from dramatiq.middleware import prometheus

    names = set()
    for kind, name in re.findall(r"prom\.(Counter|Gauge|Histogram)\(\s*\"(\w+)\"", inspect.getsource(prometheus)):
        names.add(name)
        if kind == "Histogram":
            names.update({f"{name}_bucket", f"{name}_sum", f"{name}_count"})
    return names


def _exported_names(client) -> set[str]:
    metrics.scheduler_leading(False)  # exported by every process that runs a scheduler
    names = {name for name, _labels in _samples(client)}
    return names | _dramatiq_metric_names()


METRIC_TOKEN = re.compile(r"\b((?:sixdeg|dramatiq)_[a-zA-Z0-9_]+)\b")


def _rule_exprs() -> dict[str, str]:
    rule = yaml.safe_load((MONITORING / "prometheusrule.yaml").read_text())
    return {r["alert"]: r["expr"] for group in rule["spec"]["groups"] for r in group["rules"]}


def test_alerts_and_dashboard_use_only_exported_metrics(app, alice, running_worker):
    client = app.test_client()
    _upload(client, alice, CARDS)  # so that every label set has a sample
    exported = _exported_names(client)
    assert {"dramatiq_messages_total", "dramatiq_message_errors_total"} <= exported
    exprs = _rule_exprs()
    required = {
        "SixdegApiErrorRateHigh",
        "SixdegApiLatencyP99High",
        "SixdegQueueBacklogGrowing",
        "SixdegDeadLetters",
        "SixdegProjectionLag",
        "SixdegBackupTooOld",
        "SixdegSchedulerNotLeading",
    }
    assert required <= set(exprs)
    for alert, expr in exprs.items():
        used = set(METRIC_TOKEN.findall(expr))
        assert used, f"{alert} uses no sixdeg or dramatiq metric"
        assert used <= exported, f"{alert} uses metrics nobody exports: {used - exported}"
    dashboard = json.loads((MONITORING / "dashboards" / "sixdeg.json").read_text())
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            used = set(METRIC_TOKEN.findall(target["expr"]))
            assert used and used <= exported, (panel["title"], used - exported)

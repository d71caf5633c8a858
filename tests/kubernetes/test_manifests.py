"""The rendered Kubernetes manifests: valid against the schemas, and the deployment rules of issue 10 hold.

Rules checked on every overlay: requests, limits and probes on every container (or a recorded reason for no
liveness probe), non-root and locked-down security contexts, pinned image tags, worker shutdown that outlasts
the longest actor, prefetch = threads, one Recreate scheduler, KEDA on real work queues only, workers that accept
no inbound traffic but Prometheus on their `metrics` port, the monitoring wiring (metrics ports, the api's
multiprocess directory, SIXDEG_ENVIRONMENT, /metrics kept out of the Ingress), and the RabbitMQ connection budget
the README documents.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest

from tests.kubernetes.conftest import (
    KEDA_SCHEMAS,
    KUBERNETES_VERSION,
    OVERLAYS,
    PROMETHEUS_OPERATOR_SCHEMAS,
    crd_schema,
)

#: RabbitMQ connections the production overlay may open at most (kubernetes/README.md "Connection budget").
CONNECTION_BUDGET = 256
#: Publisher connections per gunicorn worker, and the scheduler's (one consumer-free process, two threads).
SCHEDULER_CONNECTIONS = 2
NO_LIVENESS = "sixdeg.dev/no-liveness-probe"
KEDA_KINDS = {
    "ScaledObject": "keda.sh_scaledobjects.yaml",
    "TriggerAuthentication": "keda.sh_triggerauthentications.yaml",
}
PROMETHEUS_OPERATOR_KINDS = {
    "ServiceMonitor": "monitoring.coreos.com_servicemonitors.yaml",
    "PodMonitor": "monitoring.coreos.com_podmonitors.yaml",
    "PrometheusRule": "monitoring.coreos.com_prometheusrules.yaml",
}
#: {kind: vendored CRD} for every custom resource the overlays render (kubernetes/schemas/README.md).
CRD_FILES = {kind: KEDA_SCHEMAS / name for kind, name in KEDA_KINDS.items()} | {
    kind: PROMETHEUS_OPERATOR_SCHEMAS / name for kind, name in PROMETHEUS_OPERATOR_KINDS.items()
}
#: SIXDEG_METRICS_PORT's default: where `dramatiq` workers and the scheduler serve their metrics.
METRICS_PORT = 9191
#: The namespace Prometheus scrapes from (an overlay may change it: kubernetes/base/networkpolicies.yaml).
PROMETHEUS_NAMESPACE = {"kubernetes.io/metadata.name": "monitoring"}
ENVIRONMENTS = {"dev": "development", "production": "production"}

overlays = pytest.mark.parametrize("overlay", OVERLAYS)


# --- what the actors declare ---------------------------------------------------------------------------------------


def product_actors() -> list[Any]:
    """The product's actors (declared in actors/*; test actors the suite may have declared are left out)."""
    import dramatiq

    import actors  # noqa: F401  - declares them

    return [a for a in dramatiq.get_broker().actors.values() if a.fn.__module__.startswith("actors.")]


def queue_time_limits() -> dict[str, int]:
    """{queue: longest actor time limit in ms}."""
    from dramatiq.middleware.time_limit import TimeLimit

    default = TimeLimit().time_limit
    limits: dict[str, int] = {}
    for actor in product_actors():
        limit = actor.options.get("time_limit", default)
        limits[actor.queue_name] = max(limits.get(actor.queue_name, 0), limit)
    return limits


# --- helpers over rendered objects ---------------------------------------------------------------------------------


def of_kind(objects: list[dict], kind: str) -> list[dict]:
    return [o for o in objects if o["kind"] == kind]


def named(objects: list[dict], kind: str, name: str) -> dict:
    [found] = [o for o in of_kind(objects, kind) if o["metadata"]["name"] == name]
    return found


def pod_specs(objects: list[dict]) -> list[tuple[dict, dict]]:
    """(object, pod template) for every workload."""
    out = []
    for obj in objects:
        if obj["kind"] in {"Deployment", "StatefulSet", "DaemonSet", "Job"}:
            out.append((obj, obj["spec"]["template"]))
    return out


def is_sixdeg(obj: dict) -> bool:
    return obj["metadata"].get("labels", {}).get("app.kubernetes.io/name") == "sixdeg"


def workers(objects: list[dict]) -> list[dict]:
    return [
        o
        for o in of_kind(objects, "Deployment")
        if o["metadata"].get("labels", {}).get("app.kubernetes.io/component") == "worker"
    ]


def flag(args: list[str], name: str) -> list[str]:
    """Values of a dramatiq flag given as `--name=value` or `--name value...` (for --queues, up to the next flag)."""
    values: list[str] = []
    for i, arg in enumerate(args):
        if arg.startswith(f"{name}="):
            values.append(arg.split("=", 1)[1])
        elif arg == name:
            for following in args[i + 1 :]:
                if following.startswith("-"):
                    break
                values.append(following)
    return values


def container_env(container: dict) -> dict[str, str]:
    return {e["name"]: e.get("value", "") for e in container.get("env", [])}


# --- schemas -------------------------------------------------------------------------------------------------------


@overlays
def test_every_object_validates_against_its_schema(rendered, overlay):
    problems = []
    for obj in rendered[overlay]:
        where = f"{obj['kind']}/{obj['metadata']['name']}"
        if obj["kind"] in CRD_FILES:
            schema = crd_schema(CRD_FILES[obj["kind"]])
            errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(obj), key=str)
            problems += [f"{where}: {e.message} at {list(e.absolute_path)}" for e in errors]
            continue
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            problems.append(f"{where}: {exc.message} at {list(exc.path)}")
    assert not problems, "\n".join(problems)


def test_the_keda_schema_rejects_a_misspelt_field():
    """The strict CRD schema catches what the API server would silently drop."""
    schema = crd_schema(KEDA_SCHEMAS / KEDA_KINDS["ScaledObject"])
    bad = {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {"name": "x"},
        "spec": {"scaleTargetRef": {"name": "x"}, "maxReplicas": 3, "triggers": []},
    }
    assert any("maxReplicas" in e.message for e in jsonschema.Draft7Validator(schema).iter_errors(bad))


@pytest.mark.parametrize("kind", sorted(PROMETHEUS_OPERATOR_KINDS))
def test_every_rendered_custom_resource_has_a_vendored_schema(rendered, kind):
    """The monitoring objects are rendered (so validated above), and their strict schemas catch a misspelling."""
    for overlay in OVERLAYS:
        assert of_kind(rendered[overlay], kind), f"{overlay} renders no {kind}"
    groups = {o["kind"]: o["apiVersion"].rpartition("/")[0] for objects in rendered.values() for o in objects}
    custom = {k for k, group in groups.items() if "." in group and not group.endswith(".k8s.io")}
    assert custom <= set(CRD_FILES), f"custom resources without a vendored schema: {custom - set(CRD_FILES)}"
    schema = crd_schema(CRD_FILES[kind])
    bad = {"apiVersion": "monitoring.coreos.com/v1", "kind": kind, "metadata": {"name": "x"}, "spec": {"selectr": {}}}
    assert any("selectr" in e.message for e in jsonschema.Draft7Validator(schema).iter_errors(bad))


# --- containers ------------------------------------------------------------------------------------------------


@overlays
def test_every_container_has_requests_limits_and_probes(rendered, overlay):
    problems = []
    for obj, template in pod_specs(rendered[overlay]):
        annotations = template.get("metadata", {}).get("annotations", {})
        for container in template["spec"]["containers"]:
            where = f"{obj['kind']}/{obj['metadata']['name']}/{container['name']}"
            resources = container.get("resources", {})
            for part in ("requests", "limits"):
                if not {"cpu", "memory"} <= set(resources.get(part, {})):
                    problems.append(f"{where}: no cpu and memory {part}")
            if obj["kind"] == "Job":
                continue  # a Job's pod runs to completion: nothing to route to or restart
            if "livenessProbe" not in container and not annotations.get(NO_LIVENESS, "").strip():
                problems.append(f"{where}: no livenessProbe and no {NO_LIVENESS} annotation saying why")
            # A Prometheus `metrics` port alone (workers, scheduler) is scraped, not routed to: no readiness needed.
            serves = [p for p in container.get("ports", []) if p.get("name") != "metrics"]
            if serves and "readinessProbe" not in container:
                problems.append(f"{where}: serves ports but has no readinessProbe")
    assert not problems, "\n".join(problems)


@overlays
def test_every_container_runs_locked_down_as_non_root(rendered, overlay):
    problems = []
    for obj, template in pod_specs(rendered[overlay]):
        pod = template["spec"].get("securityContext", {})
        if pod.get("runAsNonRoot") is not True or not pod.get("runAsUser"):
            problems.append(f"{obj['metadata']['name']}: pod not runAsNonRoot with a non-zero runAsUser")
        if pod.get("seccompProfile", {}).get("type") != "RuntimeDefault":
            problems.append(f"{obj['metadata']['name']}: no RuntimeDefault seccomp profile")
        if template["spec"].get("automountServiceAccountToken") is not False:
            problems.append(f"{obj['metadata']['name']}: mounts a service-account token it does not need")
        for container in template["spec"]["containers"]:
            where = f"{obj['metadata']['name']}/{container['name']}"
            sc = container.get("securityContext", {})
            if sc.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{where}: allowPrivilegeEscalation is not false")
            if sc.get("capabilities", {}).get("drop") != ["ALL"]:
                problems.append(f"{where}: capabilities not dropped (ALL)")
            # Our image runs read-only (upstream database images in the dev overlay write into their own paths).
            if is_sixdeg(obj) and sc.get("readOnlyRootFilesystem") is not True:
                problems.append(f"{where}: root filesystem not read-only")
            if is_sixdeg(obj):
                mounts = {m["mountPath"] for m in container.get("volumeMounts", [])}
                if "/tmp" not in mounts:
                    problems.append(f"{where}: read-only root but no writable /tmp")
                if pod.get("runAsUser") != 10001:
                    problems.append(f"{where}: not the image's user 10001")
    assert not problems, "\n".join(problems)


@overlays
def test_images_are_pinned(rendered, overlay):
    for obj, template in pod_specs(rendered[overlay]):
        for container in template["spec"]["containers"]:
            image = container["image"]
            name, _, tag = image.rpartition(":")
            assert name and "/" not in tag, f"{obj['metadata']['name']}: image {image!r} has no tag"
            assert tag != "latest", f"{obj['metadata']['name']}: image {image!r} uses latest"


# --- workers ---------------------------------------------------------------------------------------------------


@overlays
def test_every_actor_queue_has_exactly_one_worker_deployment(rendered, overlay):
    consumed: list[str] = []
    for deployment in workers(rendered[overlay]):
        [container] = deployment["spec"]["template"]["spec"]["containers"]
        assert container["args"][:2] == ["dramatiq", "actors"]
        consumed += flag(container["args"], "--queues")
    assert sorted(consumed) == sorted(queue_time_limits()), "worker --queues must match the actors' queues"


@overlays
def test_workers_are_sized_explicitly_with_prefetch_equal_to_threads(rendered, overlay):
    for deployment in workers(rendered[overlay]):
        [container] = deployment["spec"]["template"]["spec"]["containers"]
        [processes], [threads] = flag(container["args"], "--processes"), flag(container["args"], "--threads")
        assert int(processes) >= 1 and int(threads) >= 1
        env = container_env(container)
        assert env.get("SIXDEG_WORKER_PREFETCH") == threads, deployment["metadata"]["name"]


@overlays
def test_worker_shutdown_outlasts_the_longest_actor_and_kubernetes_waits_for_it(rendered, overlay):
    limits = queue_time_limits()
    for deployment in workers(rendered[overlay]):
        name = deployment["metadata"]["name"]
        spec = deployment["spec"]["template"]["spec"]
        [container] = spec["containers"]
        [shutdown_ms] = flag(container["args"], "--worker-shutdown-timeout")
        longest_ms = max(limits[q] for q in flag(container["args"], "--queues"))
        grace = spec["terminationGracePeriodSeconds"]
        assert int(shutdown_ms) >= longest_ms, f"{name}: shutdown timeout below the longest actor time limit"
        assert grace > int(shutdown_ms) / 1000, f"{name}: Kubernetes would SIGKILL before Dramatiq's shutdown ends"
        assert grace >= longest_ms / 1000 + 30, f"{name}: no margin between the grace period and the time limit"
        strategy = deployment["spec"]["strategy"]
        assert strategy["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}


def selects(selector: dict, labels: dict) -> bool:
    """Whether a label selector (matchLabels and matchExpressions) matches these labels."""
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        key, operator, values = expression["key"], expression["operator"], expression.get("values", [])
        matched = {
            "In": key in labels and labels[key] in values,
            "NotIn": labels.get(key) not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }[operator]
        if not matched:
            return False
    return True


def ingress_policies(objects: list[dict], labels: dict) -> list[dict]:
    """The NetworkPolicies that restrict the ingress of pods with these labels."""
    return [
        p
        for p in of_kind(objects, "NetworkPolicy")
        if "Ingress" in p["spec"]["policyTypes"] and selects(p["spec"]["podSelector"], labels)
    ]


def from_prometheus_only(rule: dict) -> bool:
    """Every source of the rule is a namespace selector (Prometheus's namespace), never everyone or an IP block."""
    peers = rule.get("from", [])
    return bool(peers) and all(set(peer) == {"namespaceSelector"} and peer["namespaceSelector"] for peer in peers)


@overlays
def test_workers_and_the_scheduler_accept_no_inbound_traffic_but_prometheus_on_metrics(rendered, overlay):
    """The one exception: Prometheus's namespace, on the `metrics` port only."""
    for obj, template in pod_specs(rendered[overlay]):
        if not is_sixdeg(obj) or obj["metadata"]["labels"]["app.kubernetes.io/component"] == "api":
            continue
        name, labels = obj["metadata"]["name"], template["metadata"]["labels"]
        applying = ingress_policies(rendered[overlay], labels)
        assert applying, f"{name}: no NetworkPolicy restricts its ingress"
        rules = [(p["metadata"]["name"], rule) for p in applying for rule in p["spec"].get("ingress", [])]
        for policy, rule in rules:
            assert [p.get("port") for p in rule.get("ports", [])] == ["metrics"], f"{name}: {policy} admits more"
            assert from_prometheus_only(rule), f"{name}: {policy} admits sources other than Prometheus's namespace"
        component = labels["app.kubernetes.io/component"]
        if component in {"worker", "scheduler"}:
            assert rules, f"{name}: Prometheus cannot scrape its metrics port"
            assert all(r["from"] == [{"namespaceSelector": {"matchLabels": PROMETHEUS_NAMESPACE}}] for _, r in rules)
        else:
            assert not rules, f"{name} ({component}) serves no metrics port but a NetworkPolicy admits traffic"


@overlays
def test_prometheus_may_scrape_the_api_http_port(rendered, overlay):
    api = named(rendered[overlay], "Deployment", "sixdeg-api")
    labels = api["spec"]["template"]["metadata"]["labels"]
    rules = [r for p in ingress_policies(rendered[overlay], labels) for r in p["spec"].get("ingress", [])]
    scrape = [r for r in rules if r.get("from") == [{"namespaceSelector": {"matchLabels": PROMETHEUS_NAMESPACE}}]]
    assert scrape, "no NetworkPolicy admits Prometheus to the api"
    assert all([p.get("port") for p in r.get("ports", [])] == ["http"] for r in scrape)


# --- monitoring --------------------------------------------------------------------------------------------------


@overlays
def test_workers_and_the_scheduler_serve_metrics_on_a_named_port(rendered, overlay):
    """The PodMonitor scrapes the container port named `metrics`: SIXDEG_METRICS_PORT (9191) of every worker and
    the scheduler."""
    objects = rendered[overlay]
    for deployment in [*workers(objects), named(objects, "Deployment", "sixdeg-scheduler")]:
        [container] = deployment["spec"]["template"]["spec"]["containers"]
        ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
        assert ports == {"metrics": METRICS_PORT}, deployment["metadata"]["name"]
        config = named(objects, "ConfigMap", "sixdeg-config")["data"]
        assert int(container_env(container).get("SIXDEG_METRICS_PORT", config.get("SIXDEG_METRICS_PORT", 9191))) == (
            METRICS_PORT
        )
    [monitor] = of_kind(objects, "PodMonitor")
    assert [e["port"] for e in monitor["spec"]["podMetricsEndpoints"]] == ["metrics"]
    [service_monitor] = of_kind(objects, "ServiceMonitor")
    service = named(objects, "Service", "sixdeg-api")
    assert selects(service_monitor["spec"]["selector"], service["metadata"]["labels"])
    assert {e["port"] for e in service_monitor["spec"]["endpoints"]} <= {p["name"] for p in service["spec"]["ports"]}


@overlays
def test_the_api_keeps_its_gunicorn_metrics_in_an_empty_dir(rendered, overlay):
    api = named(rendered[overlay], "Deployment", "sixdeg-api")
    spec = api["spec"]["template"]["spec"]
    [container] = spec["containers"]
    directory = container_env(container).get("PROMETHEUS_MULTIPROC_DIR")
    assert directory, "PROMETHEUS_MULTIPROC_DIR is not set on the api container"
    [mount] = [m for m in container["volumeMounts"] if m["mountPath"] == directory]
    [volume] = [v for v in spec["volumes"] if v["name"] == mount["name"]]
    assert "emptyDir" in volume, "the multiprocess directory must start empty with each pod"


def dockerfile_command() -> list[str]:
    """The image's default command (the Dockerfile's CMD, an exec-form JSON list over continued lines)."""
    text = (Path(__file__).resolve().parents[2] / "Dockerfile").read_text().replace("\\\n", "")
    [line] = [line for line in text.splitlines() if line.startswith("CMD ")]
    return json.loads(line.removeprefix("CMD "))


@overlays
def test_the_images_default_command_serves_as_the_api_deployment_does(rendered, overlay):
    """`docker run` of the image without a command runs gunicorn with the same settings as Kubernetes (threaded
    workers, the keep-alive that outlasts a proxy's): not sync workers answering webhooks one at a time."""
    [container] = named(rendered[overlay], "Deployment", "sixdeg-api")["spec"]["template"]["spec"]["containers"]
    assert dockerfile_command() == container.get("command", []) + container["args"]


@overlays
def test_each_overlay_names_its_environment(rendered, overlay):
    config = named(rendered[overlay], "ConfigMap", "sixdeg-config")["data"]
    assert config.get("SIXDEG_ENVIRONMENT") == ENVIRONMENTS[overlay]


@overlays
def test_metrics_is_not_routed_by_the_ingress(rendered, overlay):
    """No Ingress path names /metrics. The catch-all `/` reaches it, and the api answers 404 to a request that
    came through a proxy (X-Forwarded-For, which ingress-nginx always sets): api/observability.py."""
    for ingress in of_kind(rendered[overlay], "Ingress"):
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                assert not path["path"].startswith("/metrics"), f"{ingress['metadata']['name']} routes {path['path']}"


# --- autoscaling -----------------------------------------------------------------------------------------------


@overlays
def test_scaled_objects_target_existing_workers_on_real_work_queues(rendered, overlay):
    objects = rendered[overlay]
    queues = set(queue_time_limits())
    deployments = {d["metadata"]["name"]: d for d in of_kind(objects, "Deployment")}
    auths = {a["metadata"]["name"] for a in of_kind(objects, "TriggerAuthentication")}
    scaled = of_kind(objects, "ScaledObject")
    assert {s["spec"]["scaleTargetRef"]["name"] for s in scaled} == {w["metadata"]["name"] for w in workers(objects)}
    for so in scaled:
        target = deployments.get(so["spec"]["scaleTargetRef"]["name"])
        assert target is not None, f"{so['metadata']['name']} targets a Deployment that does not exist"
        assert "replicas" not in target["spec"], "KEDA owns the replicas; the Deployment must not set them"
        [container] = target["spec"]["template"]["spec"]["containers"]
        [trigger] = so["spec"]["triggers"]
        meta = trigger["metadata"]
        assert trigger["type"] == "rabbitmq" and meta["protocol"] == "http" and meta["mode"] == "QueueLength"
        assert meta["queueName"] in queues, f"{meta['queueName']} is not a queue any actor is declared on"
        assert not meta["queueName"].endswith((".DQ", ".XQ"))
        assert meta["queueName"] in flag(container["args"], "--queues"), "scaled on a queue it does not consume"
        assert trigger["authenticationRef"]["name"] in auths
        assert 1 <= so["spec"]["minReplicaCount"] <= so["spec"]["maxReplicaCount"]


def connections_per_pod(container: dict) -> int:
    """RabbitMQ connections one pod opens at most: per worker process, one per consumer (each queue and its
    `.DQ`), one publisher per worker thread (retries re-enqueue), one for the main thread."""
    args = container["args"]
    if args[:2] == ["dramatiq", "actors"]:
        processes, threads = int(flag(args, "--processes")[0]), int(flag(args, "--threads")[0])
        return processes * (2 * len(flag(args, "--queues")) + threads + 1)
    if args[0] == "gunicorn":
        return int(flag(args, "--workers")[0])
    return SCHEDULER_CONNECTIONS


def test_the_rabbitmq_connection_budget_holds_at_full_scale(rendered):
    objects = rendered["production"]
    most = {s["spec"]["scaleTargetRef"]["name"]: s["spec"]["maxReplicaCount"] for s in of_kind(objects, "ScaledObject")}
    most |= {
        h["spec"]["scaleTargetRef"]["name"]: h["spec"]["maxReplicas"]
        for h in of_kind(objects, "HorizontalPodAutoscaler")
    }
    total = 0
    for deployment in of_kind(objects, "Deployment"):
        name = deployment["metadata"]["name"]
        [container] = deployment["spec"]["template"]["spec"]["containers"]
        total += most.get(name, deployment["spec"].get("replicas", 1)) * connections_per_pod(container)
    assert total <= CONNECTION_BUDGET, f"{total} connections at full scale exceed the budget of {CONNECTION_BUDGET}"


# --- api, scheduler, migrations ------------------------------------------------------------------------------------


@overlays
def test_the_api_rolls_without_losing_capacity(rendered, overlay):
    objects = rendered[overlay]
    api = named(objects, "Deployment", "sixdeg-api")
    assert api["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}
    [container] = api["spec"]["template"]["spec"]["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["args"][0] == "gunicorn" and container["args"][-1] == "api:create_app()"
    assert named(objects, "PodDisruptionBudget", "sixdeg-api")["spec"]["minAvailable"] >= 1
    hpa = named(objects, "HorizontalPodAutoscaler", "sixdeg-api")
    assert hpa["spec"]["metrics"][0]["resource"]["name"] == "cpu"
    assert "cert-manager.io/cluster-issuer" in named(objects, "Ingress", "sixdeg")["metadata"]["annotations"]


@overlays
def test_one_scheduler_that_never_overlaps_itself(rendered, overlay):
    scheduler = named(rendered[overlay], "Deployment", "sixdeg-scheduler")
    assert scheduler["spec"]["replicas"] == 1
    assert scheduler["spec"]["strategy"] == {"type": "Recreate"}
    assert not any(
        s["spec"]["scaleTargetRef"]["name"] == "sixdeg-scheduler"
        for s in of_kind(rendered[overlay], "ScaledObject") + of_kind(rendered[overlay], "HorizontalPodAutoscaler")
    )


@overlays
def test_the_migration_job_is_named_after_the_release(rendered, overlay):
    objects = rendered[overlay]
    [job] = of_kind(objects, "Job")
    [container] = named(objects, "Deployment", "sixdeg-api")["spec"]["template"]["spec"]["containers"]
    tag = container["image"].rpartition(":")[2]
    assert job["metadata"]["name"] == f"sixdeg-migrate-{tag}"
    assert job["spec"]["template"]["spec"]["containers"][0]["args"] == ["sixdeg", "migrate"]
    assert re.fullmatch(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", job["metadata"]["name"])


def test_no_secret_values_in_production(rendered):
    assert not of_kind(rendered["production"], "Secret"), "production secrets are created outside the repository"

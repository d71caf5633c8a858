"""Renders the kustomize overlays once per run and hands the objects to the manifest tests.

The renderer is, in order: $SIXDEG_KUSTOMIZE, the pinned kustomize that `bash servers/kustomize.sh` (run by
`make test`) installs into var/tools/bin, `kustomize` on PATH, or `kubectl kustomize`. Without any of them the
tests fail in CI (CI=true) and skip locally with the reason, like the service-backed tests.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import IN_CI, ROOT

KUBERNETES = ROOT / "kubernetes"
OVERLAYS = ("dev", "production")
KEDA_SCHEMAS = KUBERNETES / "schemas" / "keda-2.17.2"
PROMETHEUS_OPERATOR_SCHEMAS = KUBERNETES / "schemas" / "prometheus-operator-0.85.0"
#: The Kubernetes release whose schemas the objects must satisfy (the oldest we support).
KUBERNETES_VERSION = "1.30.0"


def kustomize_command() -> list[str] | None:
    """The command that renders a kustomization directory (the directory is appended), or None."""
    explicit = os.environ.get("SIXDEG_KUSTOMIZE")
    if explicit:
        if not shutil.which(explicit):
            return None
        return [explicit, "kustomize" if Path(explicit).name == "kubectl" else "build"]
    pinned = ROOT / "var" / "tools" / "bin" / "kustomize"
    if pinned.exists():
        return [str(pinned), "build"]
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize"]
    return None


def render(overlay: str) -> list[dict[str, Any]]:
    """Every object the overlay renders to."""
    command = kustomize_command()
    if command is None:
        message = "no kustomize renderer: run `bash servers/kustomize.sh` (installs kustomize v5.5.0 with Go)"
        if IN_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    done = subprocess.run(
        [*command, str(KUBERNETES / "overlays" / overlay)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, f"{' '.join(command)} overlays/{overlay} failed:\n{done.stderr}"
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


@pytest.fixture(scope="session")
def rendered() -> dict[str, list[dict[str, Any]]]:
    """{overlay: objects} for every overlay."""
    return {overlay: render(overlay) for overlay in OVERLAYS}


def crd_schema(path: Path) -> dict[str, Any]:
    """The openAPIV3Schema of a CRD's served version, made strict: an object with declared properties accepts no
    other field (the API server would silently prune a misspelt one)."""
    crd = yaml.safe_load(path.read_text())
    [version] = [v for v in crd["spec"]["versions"] if v.get("served")]
    schema = version["schema"]["openAPIV3Schema"]

    def strict(node: Any) -> None:
        if isinstance(node, dict):
            if (
                node.get("type") == "object"
                and "properties" in node
                and "additionalProperties" not in node
                and not node.get("x-kubernetes-preserve-unknown-fields")
            ):
                node["additionalProperties"] = False
            for value in node.values():
                strict(value)
        elif isinstance(node, list):
            for value in node:
                strict(value)

    strict(schema)
    return schema

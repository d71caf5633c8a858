"""Liveness and readiness probes."""

from __future__ import annotations

from dataclasses import asdict
from importlib.metadata import version

from flask import Blueprint, Response, current_app, g, jsonify

from api.problems import Problem
from pipelines.backups import last_success
from pipelines.health import check_backends

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
def healthz() -> Response:
    """The process is alive and serving requests (no backend is touched)."""
    return jsonify(status="ok")


@blueprint.get("/v1/about")
def about() -> Response:
    """What the browser app needs before anyone logs in: the version, the demo login when this server was
    started with `sixdeg serve --demo` (null otherwise), and whether the caller's session cookie is valid (the
    cookie is HttpOnly, so the app asks here instead of provoking a 401)."""
    return jsonify(
        version=version("sixdeg"),
        demo=current_app.config.get("SIXDEG_DEMO"),
        signed_in=g.get("auth_kind") == "session",
    )


@blueprint.get("/readyz")
def readyz() -> Response:
    """Every configured backend answers within the ready timeout; 503 naming the failing ones otherwise."""
    results = check_backends(current_app.config["SIXDEG"])
    backends = {r.backend: {k: v for k, v in asdict(r).items() if k != "backend"} for r in results}
    failing = [r for r in results if not r.ok]
    if failing:
        names = ", ".join(f"{r.backend} ({r.kind}): {r.detail}" for r in failing)
        raise Problem(
            503,
            "Service Unavailable",
            f"Not ready: {names}",
            slug="not-ready",
            headers={"Retry-After": "5"},
            backends=backends,
        )
    last_backup = last_success(current_app.config["SIXDEG"])
    # For monitoring: alert when this is older than a couple of hours (the backup job runs hourly).
    return jsonify(status="ready", backends=backends, last_backup_at=last_backup.isoformat() if last_backup else None)

"""The browser app: the built files of web/ served at /, with every non-API path answered by index.html so the
app's own router can handle deep links (/people/42, /explore)."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, current_app, send_from_directory
from werkzeug.exceptions import NotFound

from api.problems import Problem

blueprint = Blueprint("web", __name__)

DEFAULT_WEB_DIR = Path(__file__).resolve().parents[1] / "web" / "dist"
API_PREFIXES = ("v1/", "v1", "healthz", "readyz", "metrics")
# Vue's style bindings and cytoscape's container need inline styles; scripts only from this origin.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)


def web_dir() -> Path:
    configured = current_app.config["SIXDEG"].web_dir
    return Path(configured) if configured else DEFAULT_WEB_DIR


def _index() -> Response:
    root = web_dir()
    if not (root / "index.html").is_file():
        raise Problem(
            404,
            "Not Found",
            f"The browser app is not built ({root} has no index.html): run `make web` "
            "(or `cd web && npm ci && npm run build`), or set SIXDEG_WEB_DIR to the built app.",
            slug="web-app-not-built",
        )
    response = send_from_directory(root, "index.html", max_age=0)
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return response


@blueprint.get("/")
def index() -> Response:
    return _index()


@blueprint.get("/<path:path>")
def app_path(path: str) -> Response:
    """A built file when one exists (hashed assets are cached for a year), else the app's index.html."""
    if path.startswith(API_PREFIXES):
        raise Problem(404, "Not Found", f"There is no API endpoint /{path}; see /v1/docs.", slug="not-found")
    root = web_dir()
    try:
        response = send_from_directory(root, path, max_age=0)
    except NotFound:
        if "." in path.rsplit("/", 1)[-1]:
            raise Problem(404, "Not Found", f"There is no file /{path}.", slug="not-found") from None
        return _index()
    if path.startswith("assets/"):
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    return response

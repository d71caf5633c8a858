"""RFC 9457 problem details (application/problem+json) for every error the API returns.

Unknown routes, wrong methods, oversized bodies and unexpected exceptions all answer with a problem
document, never an HTML page and never a stack trace.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, has_request_context, json, request
from werkzeug.exceptions import HTTPException

from pipelines.health import store_outage
from pipelines.observability.errors import report_exception

log = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://sixdeg.dev/problems/"


class Problem(Exception):
    """Raise from a view to answer with a problem document.

    `slug` becomes the problem `type` URI; `extra` members (for example `errors` for field errors, or
    `backends` for readiness) are added to the document.
    """

    def __init__(
        self,
        status: int,
        title: str,
        detail: str = "",
        *,
        slug: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.slug = slug
        self.headers = headers or {}
        self.extra = extra

    def response(self, instance: str | None = None) -> Response:
        """This problem as a response (`instance`: the request path; by default the current Flask request's)."""
        return problem_response(
            self.status, self.title, self.detail, slug=self.slug, headers=self.headers, instance=instance, **self.extra
        )


def problem_response(
    status: int,
    title: str,
    detail: str = "",
    *,
    slug: str | None = None,
    headers: dict[str, str] | None = None,
    instance: str | None = None,
    **extra: Any,
) -> Response:
    """Build a problem+json response (`instance`: the request path; by default the current request's)."""
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + slug if slug else "about:blank",
        "title": title,
        "status": status,
        "detail": detail or title,
    }
    if instance is None and has_request_context():
        instance = request.path
    if instance is not None:
        body["instance"] = instance
    body.update(extra)
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_MEDIA_TYPE)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _slug_for(code: int) -> str | None:
    return {
        400: "bad-request",
        401: "unauthorized",
        403: "forbidden",
        404: "not-found",
        405: "method-not-allowed",
        409: "conflict",
        413: "payload-too-large",
        415: "unsupported-media-type",
        422: "validation-failed",
        429: "rate-limited",
        503: "unavailable",
    }.get(code)


def _handle_problem(problem: Problem) -> Response:
    return problem.response()


def _handle_http_exception(exc: HTTPException) -> Response:
    original = getattr(exc, "original_exception", None)
    if isinstance(original, Exception) and not isinstance(original, HTTPException):
        # Flask wraps errors raised outside the view (for example a commit in an after_request hook) in a 500.
        return _handle_unexpected(original)
    code = exc.code or 500
    headers = {}
    if code == 405 and exc.valid_methods:  # type: ignore[attr-defined]
        headers["Allow"] = ", ".join(sorted(exc.valid_methods))  # type: ignore[attr-defined]
    if code >= 500:
        log.error("HTTP %s on %s %s: %s", code, request.method, request.path, exc.description)
    detail = exc.description or exc.name
    if code == 404:
        detail = f"There is no resource at {request.path}. See /v1/openapi.json for what exists."
    elif code == 429:
        detail = f"Too many requests (limit: {exc.description}). Wait the seconds in Retry-After, then try again."
    elif code == 405:
        detail = f"{request.method} is not allowed on {request.path}; allowed: {headers.get('Allow', 'none')}."
    return problem_response(code, exc.name, detail, slug=_slug_for(code), headers=headers)


def _database_unreachable(exc: BaseException) -> bool:
    """The database could not be reached (down, restarting, refusing connections): not a bug in the request."""
    import psycopg
    from sqlalchemy.exc import DBAPIError, OperationalError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    if isinstance(exc, PoolTimeout | psycopg.OperationalError):  # psycopg's own: hot paths use it directly
        return True
    return isinstance(exc, OperationalError) or (isinstance(exc, DBAPIError) and exc.connection_invalidated)


def _handle_unexpected(exc: Exception) -> Response:
    if isinstance(exc, HTTPException):
        return _handle_http_exception(exc)
    if _database_unreachable(exc):
        log.warning("database unavailable on %s %s: %s", request.method, request.path, exc)
        return problem_response(
            503,
            "Service Unavailable",
            "The database is not reachable right now; nothing was changed. Try again in a few seconds.",
            slug="unavailable",
            headers={"Retry-After": "5"},
        )
    store = store_outage(exc)
    if store is not None:
        log.warning("%s unavailable on %s %s: %s", store, request.method, request.path, exc)
        return problem_response(
            503,
            "Service Unavailable",
            f"The {store} did not answer in time or is not reachable right now; nothing was changed. "
            "Try again in a few seconds.",
            slug="unavailable",
            headers={"Retry-After": "5"},
        )
    report_exception(exc)  # the catch-all handler means Flask never signals it to Sentry's integration
    log.exception("unhandled error on %s %s", request.method, request.path)
    return problem_response(
        500,
        "Internal Server Error",
        "Something went wrong on our side. It has been logged; try again later.",
        slug="internal-error",
    )


def register_problem_handlers(app: Flask) -> None:
    """Make every error of `app` a problem document."""
    app.register_error_handler(Problem, _handle_problem)
    app.register_error_handler(HTTPException, _handle_http_exception)
    app.register_error_handler(Exception, _handle_unexpected)

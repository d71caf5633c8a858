"""Request ids, request metrics and the /metrics endpoint (the logic lives in pipelines/observability).

Every request gets an id: the caller's X-Request-ID when it is sane, a new one otherwise. It is bound to every
log line of the request, tags its Sentry events, travels in the messages it enqueues, and is echoed in the
response's X-Request-ID header.

`/metrics` (Prometheus text format) is neither authenticated nor rate-limited, so that Prometheus can scrape
each pod directly. It shows counts and timings only, never user data. It answers 404 when SIXDEG_METRICS=0 and
to any request that came through a proxy (X-Forwarded-For or Forwarded set, as an Ingress does), so routing
every path of the public host to the API does not publish it; Prometheus scrapes the pod, not the Ingress.
"""

from __future__ import annotations

import time

from flask import Blueprint, Flask, Response, current_app, g, request

from api.problems import Problem
from pipelines.observability import logs, metrics

REQUEST_ID_HEADER = "X-Request-ID"
blueprint = Blueprint("metrics", __name__)


def _start() -> None:
    g.request_started = time.perf_counter()
    logs.clear()  # server threads are reused: nothing of the previous request stays bound
    g.request_id = logs.valid_request_id(request.headers.get(REQUEST_ID_HEADER)) or logs.new_request_id()
    logs.bind(request_id=g.request_id)


def _finish(response: Response) -> Response:
    request_id = g.get("request_id")
    if request_id:
        response.headers[REQUEST_ID_HEADER] = request_id
    started = g.get("request_started")
    if started is not None and current_app.config["SIXDEG"].metrics:
        route = request.url_rule.rule if request.url_rule is not None else "<unmatched>"
        metrics.record_http(request.method, route, response.status_code, time.perf_counter() - started)
    return response


def _teardown(_exc: BaseException | None) -> None:
    logs.clear()


def install(app: Flask) -> None:
    """Register the hooks first, so the timing and the request id cover every other hook of the request."""
    app.before_request(_start)
    app.after_request(_finish)  # after_request hooks run in reverse order: this one runs last
    app.teardown_request(_teardown)


@blueprint.get("/metrics")
def prometheus_metrics() -> Response:
    """Prometheus metrics of this process (see docs/observability.md)."""
    if (
        not current_app.config["SIXDEG"].metrics
        or request.headers.get("X-Forwarded-For")
        or request.headers.get("Forwarded")
    ):
        raise Problem(404, "Not Found", f"There is no resource at {request.path}.", slug="not-found")
    body, content_type = metrics.api_exposition(current_app.config["SIXDEG"])
    return Response(body, content_type=content_type)

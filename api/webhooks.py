"""Webhook sources (create, rotate the secret, disable, enable) and the endpoint senders post to."""

from __future__ import annotations

import io
import json
import re
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from flask import Blueprint, Flask, Response, jsonify, request, url_for
from pydantic import ValidationError
from spectree import Response as Responses
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Request

from api.contacts import source_out
from api.context import MAX_ID, config, db, login_required, owned_or_404, require_user, too_large
from api.limits import limiter
from api.observability import REQUEST_ID_HEADER
from api.problems import Problem
from api.schemas import RotateIn, SecretOut, SourceIn, WebhookAccepted, WebhookSourceOut
from api.spec import spec
from pipelines import webhooks
from pipelines.config import Config
from pipelines.db import is_postgres
from pipelines.models import Source, SourceKind
from pipelines.observability import logs, metrics

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

blueprint = Blueprint("webhooks", __name__, url_prefix="/v1")


def webhook_source_out(source: Source) -> dict:
    return WebhookSourceOut(**source_out(source)).model_dump(mode="json")


def _own_webhook_source(source_id: int) -> Source:
    source = owned_or_404(Source, source_id, "source")
    if source.kind != SourceKind.webhook:
        raise Problem(409, "Conflict", f"Source {source_id} is a {source.kind.value} source, not a webhook source.")
    return source


@blueprint.post("/sources")
@login_required
@spec.validate(json=SourceIn, resp=Responses(HTTP_201=SecretOut, HTTP_409=None, HTTP_422=None), tags=["sources"])
def create_source(json: SourceIn) -> tuple[Response, int, dict[str, str]]:
    """Create a webhook source; the answer carries its signing secret, which is never shown again."""
    user = require_user()
    if db().query(Source).filter_by(user_id=user.id, kind=SourceKind.webhook, name=json.name).first():
        raise Problem(409, "Conflict", f"You already have a webhook source called {json.name!r}.", slug="conflict")
    source, secret = webhooks.create_source(db(), config().secret_key, user, json.name)
    body = {"source": webhook_source_out(source), "secret": secret}
    return jsonify(body), 201, {"Location": url_for("contacts.get_source", source_id=source.id)}


@blueprint.post("/sources/<int:source_id>/rotate-secret")
@login_required
@spec.validate(json=RotateIn, resp=Responses(HTTP_200=SecretOut, HTTP_404=None, HTTP_409=None), tags=["sources"])
def rotate_secret(source_id: int, json: RotateIn) -> Response:
    """A new signing secret; the current one keeps working for `grace_seconds` (default one day)."""
    from datetime import timedelta

    source = _own_webhook_source(source_id)
    secret = webhooks.rotate_secret(db(), config().secret_key, source, timedelta(seconds=json.grace_seconds))
    return jsonify({"source": webhook_source_out(source), "secret": secret})


@blueprint.post("/sources/<int:source_id>/disable")
@login_required
@spec.validate(resp=Responses(HTTP_200=WebhookSourceOut, HTTP_404=None, HTTP_409=None), tags=["sources"])
def disable_source(source_id: int) -> Response:
    """Stop accepting webhooks for this source (they are answered 404 until it is enabled again)."""
    source = _own_webhook_source(source_id)
    webhooks.set_disabled(db(), source, True)
    return jsonify(webhook_source_out(source))


@blueprint.post("/sources/<int:source_id>/enable")
@login_required
@spec.validate(resp=Responses(HTTP_200=WebhookSourceOut, HTTP_404=None, HTTP_409=None), tags=["sources"])
def enable_source(source_id: int) -> Response:
    """Accept webhooks for this source again."""
    source = _own_webhook_source(source_id)
    webhooks.set_disabled(db(), source, False)
    return jsonify(webhook_source_out(source))


@blueprint.post("/webhooks/<int:source_id>")
@limiter.exempt
@spec.validate(
    resp=Responses(HTTP_202=WebhookAccepted, HTTP_401=None, HTTP_404=None, HTTP_413=None),
    tags=["webhooks"],
    security=[],
)
def receive(source_id: int) -> tuple[Response, int]:
    """Receive a signed event (Standard Webhooks: `webhook-id`, `webhook-timestamp`, `webhook-signature`).

    The body is `{"type": "contact.upserted", "data": {"id": ..., "given_name": ..., "emails": [...], ...}}` or
    `{"type": "contact.deleted", "data": {"id": ...}}`. Verified events are stored and processed on the queue;
    the answer is 202 at once. A webhook-id seen before is a 202 that changes nothing.
    """
    return jsonify(accept_webhook(config(), request, source_id)), 202


def accept_webhook(settings: Config, incoming: Request, source_id: int) -> dict[str, bool]:
    """What `POST /v1/webhooks/{source_id}` does, served by Flask or by `WebhookLane`: verify the signature,
    validate the event, store it and enqueue it through the outbox. Returns the 202's body; raises Problem.
    On Postgres: the source cached per process and one autocommitted statement (`webhooks.accept_receiving`);
    elsewhere the request's ORM session (Flask only)."""
    fast = is_postgres(settings.database_url)
    if not 0 < source_id <= MAX_ID:
        raise _not_receiving(source_id)
    if incoming.content_length is not None and incoming.content_length > settings.webhook_max_bytes:
        raise too_large(incoming.content_length, settings.webhook_max_bytes)
    # A body sent without a length (chunked) is read one byte past the limit, which tells it is too large:
    # werkzeug stops a stream at max_content_length without saying so.
    incoming.max_content_length = settings.webhook_max_bytes + 1
    try:
        body = incoming.get_data(cache=True)  # kept: WebhookLane hands it to Flask after an unexpected error
    except RequestEntityTooLarge:
        raise too_large(None, settings.webhook_max_bytes) from None
    if len(body) > settings.webhook_max_bytes:
        raise too_large(None, settings.webhook_max_bytes)
    headers = dict(incoming.headers)
    with _answered_as_problems(source_id):
        if fast:
            verified = webhooks.verify_receiving(settings, source_id, body, headers)
        else:
            source = webhooks.receiving_source(db(), source_id)
            if source is None:
                raise webhooks.NotReceiving(source_id)
            sent_at = webhooks.verify(settings.secret_key, source, body, headers)
    if not incoming.is_json:
        raise Problem(
            415, "Unsupported Media Type", "Send the event as application/json.", slug="unsupported-media-type"
        )
    try:
        payload = webhooks.PAYLOAD.validate_json(body)
    except ValidationError as exc:
        errors = [
            {"field": ".".join(str(p) for p in error["loc"]) or "body", "message": error["msg"], "code": error["type"]}
            for error in exc.errors(include_url=False)
        ]
        raise Problem(
            422,
            "Unprocessable Content",
            "The event does not match the webhook payload format.",
            slug="validation",
            errors=errors,
        ) from None
    webhook_id = incoming.headers["webhook-id"]
    if len(webhook_id) > 200:
        raise Problem(
            422,
            "Unprocessable Content",
            "webhook-id is longer than 200 characters.",
            slug="validation",
            errors=[{"field": "webhook-id", "message": "at most 200 characters", "code": "too_long"}],
        )
    if fast:  # one autocommitted statement: the event and its outbox row, published in the background
        with _answered_as_problems(source_id):
            created = webhooks.accept_receiving(settings, source_id, body, headers, verified, webhook_id, payload)
    else:
        created = webhooks.accept(db(), source, webhook_id, sent_at, payload)
    return {"accepted": True, "duplicate": not created}


class WebhookLane:
    """WSGI middleware that answers `POST /v1/webhooks/{id}` without Flask's per-request machinery (request
    context, session cookie, rate limiter, spectree), on Postgres, where a burst of webhooks is the API's
    busiest traffic: it costs about half the CPU of the same request through Flask. It does what the Flask view
    does (`accept_webhook`), with the request id and metrics every request gets; anything it does not expect
    goes to the Flask app with the body it read, to be answered as every other error is. Other requests pass
    straight through."""

    PATH = re.compile(r"/v1/webhooks/(\d+)/?")
    ROUTE = "/v1/webhooks/<int:source_id>"

    def __init__(self, app: Flask) -> None:
        self.settings: Config = app.config["SIXDEG"]
        self.wrapped = app.wsgi_app

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        match = self.PATH.fullmatch(environ.get("PATH_INFO", ""))
        if match is None or environ.get("REQUEST_METHOD") != "POST":
            return self.wrapped(environ, start_response)
        started = time.perf_counter()
        incoming = Request(environ)
        request_id = logs.valid_request_id(incoming.headers.get(REQUEST_ID_HEADER)) or logs.new_request_id()
        logs.clear()
        logs.bind(request_id=request_id)
        try:
            try:
                answer = Response(
                    json.dumps(accept_webhook(self.settings, incoming, int(match[1]))),
                    status=202,
                    mimetype="application/json",
                )
            except Problem as problem:
                answer = problem.response(incoming.path)
            except Exception:
                return self._through_flask(environ, incoming, start_response)
            answer.headers[REQUEST_ID_HEADER] = request_id
            if self.settings.metrics:
                metrics.record_http("POST", self.ROUTE, answer.status_code, time.perf_counter() - started)
            return answer(environ, start_response)
        finally:
            logs.clear()

    def _through_flask(
        self, environ: WSGIEnvironment, incoming: Request, start_response: StartResponse
    ) -> Iterable[bytes]:
        """Serve the request through Flask: its body, as far as the lane read it, is handed on."""
        body = incoming.get_data(cache=True)  # what the lane read (cached), or the rest of the stream
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        return self.wrapped(environ, start_response)


@contextmanager
def _answered_as_problems(source_id: int) -> Iterator[None]:
    """A source that does not receive is a 404, a signature that does not verify a 401."""
    try:
        yield
    except webhooks.NotReceiving:
        raise _not_receiving(source_id) from None
    except webhooks.BadSignature as exc:
        raise _bad_signature(exc) from None


def _bad_signature(exc: Exception) -> Problem:
    return Problem(
        401,
        "Unauthorized",
        f"The webhook signature does not verify ({exc}). Sign `id.timestamp.body` with the source's secret "
        "(Standard Webhooks) and send it within 5 minutes of webhook-timestamp.",
        slug="bad-signature",
    )


def _not_receiving(source_id: int) -> Problem:
    return Problem(
        404, "Not Found", f"No webhook source {source_id} is receiving (unknown or disabled).", slug="not-found"
    )

"""Webhook sources (create, rotate the secret, disable, enable) and the endpoint senders post to."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import Blueprint, Response, jsonify, request, url_for
from pydantic import ValidationError
from spectree import Response as Responses

from api.contacts import source_out
from api.context import MAX_ID, config, db, login_required, owned_or_404, require_user
from api.limits import limiter
from api.problems import Problem
from api.schemas import RotateIn, SecretOut, SourceIn, WebhookAccepted, WebhookSourceOut
from api.spec import spec
from pipelines import outbox, webhooks
from pipelines.db import get_engine, is_postgres
from pipelines.models import Source, SourceKind

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
    fast = is_postgres(config().database_url)  # a cached source and one statement (see accept_on)
    if not 0 < source_id <= MAX_ID:
        raise _not_receiving(source_id)
    body, headers = request.get_data(cache=False), dict(request.headers)
    with _answered_as_problems(source_id):
        if fast:
            verified = webhooks.verify_receiving(config(), source_id, body, headers)
        else:
            source = webhooks.receiving_source(db(), source_id)
            if source is None:
                raise webhooks.NotReceiving(source_id)
            sent_at = webhooks.verify(config().secret_key, source, body, headers)
    if not request.is_json:
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
    webhook_id = request.headers["webhook-id"]
    if len(webhook_id) > 200:
        raise Problem(
            422,
            "Unprocessable Content",
            "webhook-id is longer than 200 characters.",
            slug="validation",
            errors=[{"field": "webhook-id", "message": "at most 200 characters", "code": "too_long"}],
        )
    if fast:  # one autocommitted statement: the event and its outbox row; the row is published in the background
        with _answered_as_problems(source_id):
            row = webhooks.accept_receiving(config(), source_id, body, headers, verified, webhook_id, payload)
        if row is not None:
            outbox.publish_soon(get_engine(config()), [row])
        created = row is not None
    else:
        created = webhooks.accept(db(), source, webhook_id, sent_at, payload)
    return jsonify({"accepted": True, "duplicate": not created}), 202


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

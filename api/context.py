"""Per-request state: the unit of work, who is asking, and CSRF protection.

Each request opens one database session (the boundary owns the transaction): it commits when the response is
a success and rolls back otherwise. Authentication is either a bearer token (`Authorization: Bearer sdg_...`)
or the browser session cookie; cookie-authenticated unsafe requests must echo the session's CSRF token in
`X-CSRF-Token`. Bearer requests need no CSRF token: a browser never attaches them on its own.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, Response, current_app, g, request
from sqlalchemy.orm import Session

from api.problems import Problem
from pipelines import accounts, outbox
from pipelines.config import Config
from pipelines.db import session_factory
from pipelines.models import User

SESSION_COOKIE = "sixdeg_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

F = TypeVar("F", bound=Callable[..., Any])


def config() -> Config:
    return current_app.config["SIXDEG"]


def db() -> Session:
    """This request's database session (opened lazily, committed by the app on success)."""
    if "db" not in g:
        session = session_factory(config(), for_requests=True)()  # statements time out (see get_engine)
        outbox.publish_in_background(session)  # the answer never waits for RabbitMQ
        g.db = session
    return g.db


def current_user() -> User | None:
    return g.get("user")


def require_user() -> User:
    """The authenticated user, or a 401 problem telling how to authenticate."""
    user = current_user()
    if user is None:
        raise Problem(
            401,
            "Unauthorized",
            "Log in (POST /v1/auth/login) or send an API token as 'Authorization: Bearer sdg_...'.",
            slug="unauthorized",
            headers={"WWW-Authenticate": 'Bearer realm="sixdeg"'},
        )
    return user


M = TypeVar("M")
MAX_ID = 2**63 - 1


def owned_or_404(model: type[M], row_id: int, what: str) -> M:
    """The caller's own `model` row: another user's row is 404 exactly like a missing one (no existence leak)."""
    row = db().get(model, row_id) if 0 < row_id <= MAX_ID else None
    if row is None or row.user_id != require_user().id:  # type: ignore[attr-defined]
        raise Problem(404, "Not Found", f"You have no {what} {row_id}.", slug="not-found")
    return row


def login_required(view: F) -> F:
    """Views that need an authenticated user; the matrix test and OpenAPI read `view.requires_auth`."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        require_user()
        return view(*args, **kwargs)

    wrapper.requires_auth = True  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


def _load_identity() -> None:
    g.user = None
    g.auth_kind = None
    g.auth_session = None
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise Problem(
                401,
                "Unauthorized",
                "Use 'Authorization: Bearer <token>'.",
                slug="unauthorized",
                headers={"WWW-Authenticate": 'Bearer realm="sixdeg"'},
            )
        found = accounts.user_for_token(db(), secret.strip())
        if found is None:
            raise Problem(
                401,
                "Unauthorized",
                "This API token is not valid or has been revoked.",
                slug="invalid-token",
                headers={"WWW-Authenticate": 'Bearer realm="sixdeg", error="invalid_token"'},
            )
        g.user, g.api_token = found
        g.auth_kind = "token"
        return
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        auth = accounts.session_for_cookie(db(), cookie)
        if auth is None:
            g.clear_session_cookie = True
            return
        g.user = db().get(User, auth.user_id)
        g.auth_session = auth
        g.auth_kind = "session"
        if request.method not in SAFE_METHODS:
            sent = request.headers.get(CSRF_HEADER, "")
            if not hmac.compare_digest(sent.encode(), auth.csrf_token.encode()):
                raise Problem(
                    403,
                    "Forbidden",
                    f"Missing or wrong {CSRF_HEADER} header. Send the csrf_token you got at log-in "
                    "(also at GET /v1/auth/session) with every unsafe request.",
                    slug="csrf-failed",
                )


def set_session_cookie(response: Response, cookie_value: str, max_age: int) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        cookie_value,
        max_age=max_age,
        httponly=True,
        samesite="Lax",
        secure=config().cookie_secure,
        path="/",
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="Lax", secure=config().cookie_secure)


def _finish(response: Response) -> Response:
    session: Session | None = g.pop("db", None)
    if session is None:
        return response
    try:
        if response.status_code < 400:
            session.commit()
        else:
            session.rollback()
    finally:
        session.close()
    if g.pop("clear_session_cookie", False):
        clear_session_cookie(response)
    return response


def _discard(_exc: BaseException | None) -> None:
    session: Session | None = g.pop("db", None)
    if session is not None:
        session.rollback()
        session.close()


def _enforce_body_limits() -> None:
    """JSON bodies are capped at SIXDEG_MAX_BODY_BYTES, webhooks at SIXDEG_WEBHOOK_MAX_BYTES and multipart uploads
    at SIXDEG_MAX_UPLOAD_BYTES."""
    is_upload = (request.mimetype or "").startswith("multipart/")
    if request.endpoint == "webhooks.receive":
        request.max_content_length = config().webhook_max_bytes
    else:
        request.max_content_length = config().max_upload_bytes if is_upload else config().max_body_bytes
    if request.content_length is not None and request.content_length > request.max_content_length:
        raise too_large(request.content_length, request.max_content_length)


def too_large(length: int | None, limit: int) -> Problem:
    """The 413 for a body of `length` bytes (None: sent without a length) over `limit`."""
    has = f"has {length} bytes" if length is not None else "is larger than that"
    return Problem(413, "Content Too Large", f"The request body {has}; the limit is {limit}.", slug="payload-too-large")


def _require_declared_content_type() -> None:
    """Unsafe requests must come as the body type their view declares, JSON or multipart (415 otherwise)."""
    if request.method in SAFE_METHODS or request.endpoint is None:
        return
    from api.spec import spec

    view = current_app.view_functions.get(request.endpoint)
    metadata = spec.get_function_metadata(view) if view is not None else None
    if metadata is None:
        return
    if metadata.json is not None and not request.is_json:
        expected = "application/json"
    elif metadata.form is not None and request.mimetype != "multipart/form-data":
        expected = "multipart/form-data"
    else:
        return
    raise Problem(
        415,
        "Unsupported Media Type",
        f"Send this request as {expected} (got {request.mimetype or 'no content type'}).",
        slug="unsupported-media-type",
    )


def install(app: Flask) -> None:
    app.before_request(_enforce_body_limits)
    app.before_request(_require_declared_content_type)
    app.before_request(_load_identity)
    app.after_request(_finish)
    app.teardown_request(_discard)

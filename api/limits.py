"""Rate limits (Flask-Limiter): per user when authenticated, per client IP otherwise; stricter on log-in,
sign-up, password changes and token creation. A refusal is a 429 problem with Retry-After.

Storage comes from SIXDEG_RATELIMIT_STORAGE: memory:// for one process, redis://host:6379 when several API
replicas must share counts.
"""

from __future__ import annotations

from flask import Flask, current_app, g, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address


def user_or_ip() -> str:
    user = g.get("user")
    return f"user:{user.id}" if user is not None else f"ip:{get_remote_address()}"


def client_ip() -> str:
    return f"ip:{get_remote_address()}"


def submitted_account() -> str:
    """The account a log-in attempt targets, so a distributed guess at one password still hits a limit."""
    body = request.get_json(silent=True) or {}
    email = body.get("email") if isinstance(body, dict) else None
    return f"account:{str(email).strip().lower()[:320]}" if email else client_ip()


def auth_limit() -> str:
    return current_app.config["SIXDEG"].ratelimit_auth


def default_limit() -> str:
    return current_app.config["SIXDEG"].ratelimit_default


limiter = Limiter(key_func=user_or_ip, default_limits=[default_limit], headers_enabled=True)


def install(app: Flask) -> None:
    config = app.config["SIXDEG"]
    app.config["RATELIMIT_STORAGE_URI"] = config.ratelimit_storage
    app.config.setdefault(
        "RATELIMIT_STORAGE_OPTIONS",
        {"socket_timeout": config.backend_timeout} if config.ratelimit_storage.startswith("redis") else {},
    )
    limiter.init_app(app)

"""Error reporting to Sentry (when SIXDEG_SENTRY_DSN is set), scrubbed of contact details before it leaves.

`init_sentry` runs before the Dramatiq broker is built (the Dramatiq integration adds its middleware in
`Broker.__init__`), in every process: gunicorn, `dramatiq actors`, `python -m scheduler`, `sixdeg serve`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import sentry_sdk

from pipelines.config import Config
from pipelines.observability.redact import SAFE_HEADERS, redact_text, scrub_breadcrumb, scrub_event

log = logging.getLogger(__name__)

_active: tuple[str, str] | None = None


def release() -> str:
    """`sixdeg@<package version>`: the release every event is tagged with."""
    try:
        return f"sixdeg@{version('sixdeg')}"
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "sixdeg@unknown"


def init_sentry(config: Config, process: str) -> bool:
    """Start (or stop, when the DSN is now empty) error reporting; True when Sentry is on. Idempotent."""
    global _active
    key = (config.sentry_dsn, config.environment)
    if _active == key:
        sentry_sdk.set_tag("process", process)
        return True
    if not config.sentry_dsn:
        if _active is not None:
            sentry_sdk.get_client().close(timeout=2)
            sentry_sdk.init()  # no DSN: a client that sends nothing
            _active = None
        return False
    from sentry_sdk.integrations.dramatiq import DramatiqIntegration
    from sentry_sdk.integrations.flask import FlaskIntegration
    from sentry_sdk.integrations.logging import LoggingIntegration

    if _active is not None:
        sentry_sdk.get_client().close(timeout=2)
    sentry_sdk.init(
        dsn=config.sentry_dsn,
        release=release(),
        environment=config.environment,
        # What the integrations may collect (supersedes send_default_pii, which is off by default anyway): no user
        # identity or IP, no cookies, no bodies (imports and webhooks are contacts), no query strings (searches
        # are names), only harmless headers, no frame variables, no database query data, no message payloads.
        data_collection={
            "user_info": False,
            "cookies": {"mode": "off"},
            "http_headers": {"request": {"mode": "allowlist", "terms": sorted(SAFE_HEADERS)}},
            "http_bodies": [],
            "url_query_params": {"mode": "off"},
            "database_query_data": False,
            "queues": False,
            "stack_frame_variables": False,
        },
        include_local_variables=False,  # frames' locals may hold contacts being imported
        max_request_body_size="never",  # import uploads and webhook bodies are contacts
        before_send=scrub_event,
        before_send_transaction=scrub_event,
        before_breadcrumb=scrub_breadcrumb,
        traces_sample_rate=0.0,
        integrations=[
            FlaskIntegration(transaction_style="url"),
            DramatiqIntegration(),
            LoggingIntegration(level=logging.INFO, event_level=logging.ERROR),
        ],
    )
    sentry_sdk.set_tag("process", process)
    _active = key
    log.info("error reporting to Sentry is on (environment %s, %s)", config.environment, release())
    return True


def sentry_enabled() -> bool:
    return _active is not None


def set_tags(values: Mapping[str, Any]) -> None:
    """Tag this scope's Sentry events (request id, message id, actor); no-op when Sentry is off."""
    if _active is None:
        return
    for key, value in values.items():
        if value is not None:
            sentry_sdk.set_tag(key, redact_text(str(value))[:200])


def report_exception(exc: BaseException) -> None:
    """Send `exc` to Sentry (scrubbed) as an unhandled error; no-op when Sentry is off."""
    if _active is None:
        return
    from sentry_sdk.utils import event_from_exception

    client = sentry_sdk.get_client()
    event, hint = event_from_exception(
        exc, client_options=client.options, mechanism={"type": "flask", "handled": False}
    )
    sentry_sdk.capture_event(event, hint=hint)


def flush(timeout: float = 2.0) -> None:
    if _active is not None:
        sentry_sdk.flush(timeout=timeout)

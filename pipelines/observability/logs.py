"""Structured logs (structlog over the standard library's logging) with a request id that follows the work.

Every process logs one JSON object per line (or a human-readable line on a terminal: SIXDEG_LOG_FORMAT). The
existing `logging.getLogger(__name__)` calls need no change: a `structlog.stdlib.ProcessorFormatter` renders
them, adds the context bound in this thread or task (`request_id`, `message_id`, `actor`) and redacts emails and
phone numbers from the message and every value.

The API binds the request id (from X-Request-ID or new); the outbox and every enqueue copy it into the message
options; the worker's middleware binds it with the message id around each message (`bind_work`).
"""

from __future__ import annotations

import logging
import re
import sys
import uuid
from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from typing import Any

import structlog

from pipelines.observability.redact import redact_text, redact_value

REQUEST_ID_OPTION = "request_id"
_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
_HANDLER_MARK = "_sixdeg_handler"


def new_request_id() -> str:
    return uuid.uuid4().hex


def valid_request_id(candidate: str | None) -> str | None:
    """`candidate` if it is a sane request id (1-128 of [A-Za-z0-9._:-]), else None (a new one is made)."""
    if candidate and _VALID_REQUEST_ID.fullmatch(candidate):
        return candidate
    return None


def current_request_id() -> str | None:
    """The request id bound in this context (an API request, or a message a worker is processing)."""
    return structlog.contextvars.get_contextvars().get(REQUEST_ID_OPTION)


def bind(**values: Any) -> None:
    """Bind values to every log line of this context (and tag Sentry events with them); None values are skipped."""
    values = {k: v for k, v in values.items() if v is not None}
    structlog.contextvars.bind_contextvars(**values)
    from pipelines.observability.errors import set_tags

    set_tags(values)


def clear() -> None:
    structlog.contextvars.clear_contextvars()


@contextmanager
def bound(**values: Any) -> Iterator[None]:
    """Bind `values` for the duration of a block (restores the previous context afterwards)."""
    with structlog.contextvars.bound_contextvars(**values):
        yield


def _redact_event(_logger: Any, _name: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key, value in list(event_dict.items()):
        if key in ("exc_info", "_record", "_from_structlog"):
            continue
        if key == "exception" and isinstance(value, str):
            event_dict[key] = redact_text(value)
        else:
            event_dict[key] = redact_value(value)
    return event_dict


def _drop_color_message(_logger: Any, _name: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    event_dict.pop("color_message", None)
    return event_dict


def _shared_processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _drop_color_message,
    ]


def resolve_format(log_format: str, stream: Any = None) -> str:
    """'json' or 'console': `auto` is console on a terminal and JSON otherwise."""
    if log_format in ("json", "console"):
        return log_format
    stream = stream or sys.stderr
    return "console" if getattr(stream, "isatty", lambda: False)() else "json"


def formatter(log_format: str) -> logging.Formatter:
    """The formatter for `log_format` ('json' or 'console'), with context and redaction."""
    renderer: Any
    if log_format == "console":
        renderer = structlog.dev.ConsoleRenderer(colors=False)
        final = [structlog.stdlib.ProcessorFormatter.remove_processors_meta, _redact_event, renderer]
    else:
        final = [
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            _redact_event,
            structlog.processors.JSONRenderer(),
        ]
    return structlog.stdlib.ProcessorFormatter(foreign_pre_chain=_shared_processors(), processors=final)


def configure_logging(log_format: str = "auto", *, level: int = logging.INFO, take_over: bool = False) -> str:
    """Route logging through structlog's formatter; returns the format used ('json' or 'console').

    The root logger gets one stderr handler of ours. If another handler is there already (the dramatiq CLI's
    worker logging, which pipes lines to its master; pytest's capture), only with `take_over` are their formatters
    replaced; otherwise they are left alone (and our handler is not added twice)."""
    chosen = resolve_format(log_format)
    structlog.configure(
        processors=[*_shared_processors(), structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    root = logging.getLogger()
    ours = [h for h in root.handlers if getattr(h, _HANDLER_MARK, False)]
    others = [h for h in root.handlers if not getattr(h, _HANDLER_MARK, False)]
    if ours:
        for handler in ours:
            handler.setFormatter(formatter(chosen))
    elif others and take_over:
        for handler in others:
            handler.setFormatter(formatter(chosen))
    elif not others:
        handler = logging.StreamHandler(sys.stderr)
        setattr(handler, _HANDLER_MARK, True)
        handler.setFormatter(formatter(chosen))
        root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("pika", "alembic", "urllib3", "opensearch", "elastic_transport", "neo4j"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
    return chosen


def message_options_with_request_id(options: Mapping[str, Any] | None) -> dict[str, Any]:
    """`options` plus the current request id (if any and not set already), for a message being sent."""
    merged = dict(options or {})
    request_id = current_request_id()
    if request_id and REQUEST_ID_OPTION not in merged:
        merged[REQUEST_ID_OPTION] = request_id
    return merged

"""Redaction of contact details from error reports and log lines (DESIGN.md principle 8).

Nothing that can hold a contact's details leaves the process: emails and phone numbers are replaced wherever
they appear in text, quoted values in exception messages are dropped (Python and database errors quote the
offending value: `invalid literal ... 'Ada Lovelace'`), SQL parameters and `DETAIL: Key (...)=(...)` lines are
cut, and in Sentry events request bodies, query strings, cookies, all but a short allow-list of headers, local
variables and the data of Dramatiq messages are removed. Names cannot be recognised by a pattern: they are kept
out by never sending bodies, query strings, locals or quoted values, and by log calls that log ids and counts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

REDACTED = "[redacted]"
FILTERED = "[Filtered]"

EMAIL = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+"
)
#: Seven or more digits with the separators phone numbers are written with (+44 20 7946 0000, (555) 010-9999).
#: Plain ids and counts are shorter; timestamps and UUIDs are protected below.
PHONE = re.compile(r"(?<![\w.])(?:\+|00)?\(?\d[\d ().\-/]{5,}\d(?![\w.])")
_DIGITS = re.compile(r"\d")
_PROTECTED = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?"  # ISO timestamps
    r"|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"  # UUIDs (message ids)
    r"|\b\d+(?:\.\d+)+\b(?!\s*\d)"  # versions and decimals: 2.75.0, 0.25
)
#: Quoted values in exception messages: 'x', "x" (a repr of user data is how it usually gets into a message).
QUOTED = re.compile(r"'(?:[^'\\\n]|\\.){1,500}'|\"(?:[^\"\\\n]|\\.){1,500}\"")
#: SQLAlchemy appends the statement and its parameters to database errors; Postgres adds the conflicting values.
SQL_PARAMETERS = re.compile(r"\[parameters: .*?\](?=\s*(?:\(Background|\Z|\n))", re.DOTALL)
SQL_STATEMENT = re.compile(r"\[SQL: .*?\](?=\s*(?:\[parameters|\(Background|\Z|\n))", re.DOTALL)
PG_DETAIL = re.compile(r"^(DETAIL|HINT|CONTEXT):.*$", re.MULTILINE)

#: Request headers that carry nothing personal and help diagnosis; every other header is dropped.
SAFE_HEADERS = frozenset(
    {"accept", "content-length", "content-type", "host", "user-agent", "x-request-id", "traceparent", "tracestate"}
)


def _phone_or_keep(match: re.Match[str]) -> str:
    text = match.group(0)
    return REDACTED if len(_DIGITS.findall(text)) >= 7 else text


def redact_text(text: str) -> str:
    """`text` with every email address and phone number replaced by [redacted] (ids, times, UUIDs kept)."""
    if not text:
        return text
    text = EMAIL.sub(REDACTED, text)
    protected: list[str] = []

    def protect(match: re.Match[str]) -> str:
        protected.append(match.group(0))
        return f"\x00{len(protected) - 1}\x00"

    text = _PROTECTED.sub(protect, text)
    text = PHONE.sub(_phone_or_keep, text)
    return re.sub(r"\x00(\d+)\x00", lambda m: protected[int(m.group(1))], text)


def redact_message(text: str) -> str:
    """An exception message made safe: SQL parameters, database DETAIL lines and quoted values removed, then
    emails and phones redacted."""
    if not text:
        return text
    text = SQL_PARAMETERS.sub("[parameters: redacted]", text)
    text = SQL_STATEMENT.sub("[SQL: redacted]", text)
    text = PG_DETAIL.sub(lambda m: f"{m.group(1)}: {REDACTED}", text)
    text = QUOTED.sub(lambda m: m.group(0)[0] + REDACTED + m.group(0)[0], text)
    return redact_text(text)


def redact_value(value: Any, *, depth: int = 0) -> Any:
    """Redact emails and phones in every string inside `value` (dicts, lists, tuples), keys included."""
    if depth > 20:
        return FILTERED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {redact_text(str(k)): redact_value(v, depth=depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [redact_value(v, depth=depth + 1) for v in value]
    return value


def _strip_query(url: str) -> str:
    return url.split("?", 1)[0].split("#", 1)[0]


def _scrub_request(request: dict[str, Any]) -> dict[str, Any]:
    scrubbed: dict[str, Any] = {}
    if "method" in request:
        scrubbed["method"] = request["method"]
    if "url" in request:
        scrubbed["url"] = redact_text(_strip_query(str(request["url"])))
    if request.get("query_string"):
        scrubbed["query_string"] = FILTERED
    headers = request.get("headers")
    if isinstance(headers, Mapping):
        scrubbed["headers"] = {k: redact_text(str(v)) for k, v in headers.items() if str(k).lower() in SAFE_HEADERS}
    if request.get("data"):
        scrubbed["data"] = FILTERED
    return scrubbed


def _scrub_frames(container: Mapping[str, Any] | None) -> None:
    frames = (container or {}).get("stacktrace", {}) or {}
    for frame in frames.get("frames", []) or []:
        frame.pop("vars", None)


def scrub_event(event: dict[str, Any], _hint: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Sentry's `before_send`: the event with contact details removed (see the module docstring)."""
    for exception in (event.get("exception") or {}).get("values", []) or []:
        if isinstance(exception.get("value"), str):
            exception["value"] = redact_message(exception["value"])
        _scrub_frames(exception)
    for thread in (event.get("threads") or {}).get("values", []) or []:
        _scrub_frames(thread)
    if isinstance(event.get("message"), str):
        event["message"] = redact_message(event["message"])
    logentry = event.get("logentry")
    if isinstance(logentry, dict):
        if isinstance(logentry.get("message"), str):
            logentry["message"] = redact_message(logentry["message"])
        if isinstance(logentry.get("formatted"), str):
            logentry["formatted"] = redact_message(logentry["formatted"])
        if "params" in logentry:
            logentry["params"] = [
                redact_message(p) if isinstance(p, str) else redact_value(p) for p in logentry["params"] or []
            ]
    if isinstance(event.get("request"), dict):
        event["request"] = _scrub_request(event["request"])
    event.pop("user", None)
    contexts = event.get("contexts")
    if isinstance(contexts, dict):
        dramatiq = contexts.get("dramatiq")
        if isinstance(dramatiq, dict):
            dramatiq.pop("data", None)  # message args and options: ids, but never sent wholesale
        event["contexts"] = redact_value(contexts)
    for key in ("extra", "tags"):
        if key in event:
            event[key] = redact_value(event[key])
    breadcrumbs = event.get("breadcrumbs")
    if isinstance(breadcrumbs, dict):
        breadcrumbs["values"] = [
            b for b in (scrub_breadcrumb(b) for b in breadcrumbs.get("values", []) or []) if b is not None
        ]
    elif isinstance(breadcrumbs, list):
        event["breadcrumbs"] = [b for b in (scrub_breadcrumb(b) for b in breadcrumbs) if b is not None]
    if isinstance(event.get("transaction"), str):
        event["transaction"] = redact_text(_strip_query(event["transaction"]))
    return event


def scrub_breadcrumb(crumb: dict[str, Any], _hint: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
    """Sentry's `before_breadcrumb`: messages and data redacted, URLs without their query strings."""
    if isinstance(crumb.get("message"), str):
        crumb["message"] = redact_message(crumb["message"])
    data = crumb.get("data")
    if isinstance(data, dict):
        for key in ("url", "http.url"):
            if isinstance(data.get(key), str):
                data[key] = _strip_query(data[key])
        data.pop("http.query", None)
        data.pop("http.fragment", None)
        crumb["data"] = redact_value(data)
    return crumb

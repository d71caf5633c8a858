"""What leaves a process (Sentry events, log lines) carries no contact details."""

from __future__ import annotations

import io
import json
import logging

from pipelines.observability import logs
from pipelines.observability.redact import redact_message, redact_text, scrub_breadcrumb, scrub_event

EMAIL, PHONE, NAME = "ada.lovelace@example.com", "+44 20 7946 0000", "Ada Lovelace"


def test_emails_and_phones_are_redacted_but_ids_times_and_versions_stay():
    text = (
        f"import 12 of {EMAIL} call {PHONE} or (555) 010-9999 / 0049 30 1234567; message "
        "4b1d3a5e-8c2f-4e61-9a7b-0c9d8e7f6a5b at 2026-11-27T16:05:49.280124Z, release 2.75.0, 1234 rows"
    )
    redacted = redact_text(text)
    for secret in (EMAIL, PHONE, "010-9999", "1234567"):
        assert secret not in redacted
    kept_values = ("import 12", "4b1d3a5e-8c2f-4e61-9a7b-0c9d8e7f6a5b", "2026-11-27T16:05:49.280124Z", "2.75.0")
    for kept in kept_values:
        assert kept in redacted


def test_exception_messages_lose_quoted_values_sql_parameters_and_details():
    message = (
        '(psycopg.errors.UniqueViolation) duplicate key value violates unique constraint "identities_kind_value"\n'
        "DETAIL:  Key (kind, value)=(name, Ada Lovelace) already exists.\n"
        "[SQL: INSERT INTO people (display_name) VALUES (%(display_name)s)]\n"
        f"[parameters: {{'display_name': '{NAME}', 'email': '{EMAIL}'}}]"
    )
    redacted = redact_message(message)
    assert NAME not in redacted and EMAIL not in redacted and "Lovelace" not in redacted
    assert "UniqueViolation" in redacted
    assert redact_message(f"invalid literal for int() with base 10: {NAME!r}") == (
        "invalid literal for int() with base 10: '[redacted]'"
    )


def _event() -> dict:
    return {
        "message": f"could not import {EMAIL}",
        "logentry": {"message": "row %s: %s", "params": [3, PHONE], "formatted": f"row 3: {PHONE}"},
        "exception": {
            "values": [
                {
                    "type": "RuntimeError",
                    "value": f"cannot merge {NAME!r} <{EMAIL}> {PHONE}",
                    "stacktrace": {"frames": [{"function": "f", "vars": {"contact": NAME}}]},
                }
            ]
        },
        "request": {
            "url": f"http://api/v1/people?q={NAME}",
            "method": "POST",
            "query_string": f"q={NAME}",
            "data": {"name": NAME},
            "cookies": {"sixdeg_session": "secret"},
            "headers": {"Authorization": "Bearer sdg_x", "Cookie": "a=b", "User-Agent": "curl", "X-Contact": EMAIL},
            "env": {"REMOTE_ADDR": "203.0.113.9"},
        },
        "user": {"email": EMAIL, "ip_address": "203.0.113.9"},
        "extra": {"contact": {"email": EMAIL, "phones": [PHONE]}},
        "tags": {"who": EMAIL, "request_id": "abc"},
        "contexts": {"dramatiq": {"type": "dramatiq", "data": {"args": [NAME]}}},
        "breadcrumbs": {
            "values": [
                {"message": f"sent to {EMAIL}", "category": "log"},
                {"type": "http", "data": {"url": f"http://search/people?q={NAME}", "http.query": f"q={NAME}"}},
            ]
        },
    }


def test_scrub_event_leaves_nothing_personal_in_any_field():
    event = scrub_event(_event(), {})
    serialized = json.dumps(event)
    for secret in (EMAIL, PHONE, NAME, "Lovelace", "sdg_x", "secret", "203.0.113.9"):
        assert secret not in serialized, secret
    assert event["request"]["headers"] == {"User-Agent": "curl"}
    assert event["request"]["query_string"] == "[Filtered]" and event["request"]["url"] == "http://api/v1/people"
    assert "vars" not in event["exception"]["values"][0]["stacktrace"]["frames"][0]
    assert event["tags"]["request_id"] == "abc"
    assert event["exception"]["values"][0]["type"] == "RuntimeError"


def test_scrub_breadcrumb_strips_queries_and_redacts():
    crumb = scrub_breadcrumb({"message": f"mail {EMAIL}", "data": {"url": f"http://x/y?q={NAME}"}}, {})
    assert crumb == {"message": "mail [redacted]", "data": {"url": "http://x/y"}}


def test_log_lines_are_json_with_context_and_redacted():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.formatter("json"))
    logger = logging.getLogger("sixdeg.test.redaction")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        with logs.bound(request_id="req-1", message_id="m-1"):
            logger.info("imported %s for %s", 3, EMAIL, extra={"phone": PHONE})
            try:
                raise ValueError(f"bad {EMAIL}")
            except ValueError:
                logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert lines[0]["event"] == "imported 3 for [redacted]"
    assert lines[0]["phone"] == "[redacted]"
    assert (lines[0]["request_id"], lines[0]["message_id"], lines[0]["level"]) == ("req-1", "m-1", "info")
    assert "ValueError" in lines[1]["exception"] and EMAIL not in stream.getvalue() and PHONE not in stream.getvalue()
    assert logs.current_request_id() is None  # unbound after the block


def test_request_ids_are_validated_and_copied_into_message_options():
    assert logs.valid_request_id("abc-123_x.y:z") == "abc-123_x.y:z"
    assert logs.valid_request_id("a b") is None and logs.valid_request_id("x" * 129) is None
    with logs.bound(request_id="req-9"):
        assert logs.message_options_with_request_id({"delay": 5}) == {"delay": 5, "request_id": "req-9"}
        assert logs.message_options_with_request_id({"request_id": "kept"}) == {"request_id": "kept"}
    assert logs.message_options_with_request_id(None) == {}


def test_console_format_is_used_on_a_terminal_only():
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert logs.resolve_format("auto", Tty()) == "console"
    assert logs.resolve_format("auto", io.StringIO()) == "json"
    assert logs.resolve_format("json", Tty()) == "json"

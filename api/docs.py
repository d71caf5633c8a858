"""The OpenAPI 3.1 document (generated from the validated views) and a self-contained docs page.

spectree builds paths and schemas from the pydantic models; this module then states what every operation
shares: errors are application/problem+json, authenticated operations can answer 401, limited ones 429, and
operations with a JSON body 413 and 415.
"""

from __future__ import annotations

import copy
from typing import Any

from flask import Blueprint, Response, current_app, jsonify

from api.schemas import ProblemOut
from api.spec import DOCS_PAGE, spec

blueprint = Blueprint("docs", __name__, url_prefix="/v1")
SPEC_URL = "/v1/openapi.json"
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden (CSRF token missing or wrong)",
    404: "Not Found",
    409: "Conflict",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Validation failed",
    429: "Too Many Requests",
    500: "Internal Server Error",
}
_document: dict[str, Any] | None = None


def _problem(code: int) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": REASONS.get(code, "Error"),
        "content": {"application/problem+json": {"schema": PROBLEM_REF}},
    }
    if code == 429:
        response["headers"] = {
            "Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait before trying again."}
        }
    return response


def _needs_auth(rule_endpoint: str) -> bool:
    view = current_app.view_functions.get(rule_endpoint)
    return bool(getattr(view, "requires_auth", False))


def openapi_document() -> dict[str, Any]:
    """The generated document with problem+json errors made explicit (built once per process)."""
    global _document
    if _document is not None:
        return _document
    document = copy.deepcopy(spec.spec)
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    problem_schema = ProblemOut.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, definition in problem_schema.pop("$defs", {}).items():
        schemas[name] = definition
    schemas["Problem"] = problem_schema
    endpoints = {
        (str(rule).replace("<int:", "{").replace("<", "{").replace(">", "}"), method.lower()): rule.endpoint
        for rule in current_app.url_map.iter_rules()
        for method in rule.methods or ()
    }
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            codes = {int(code) for code in responses if code.isdigit() and int(code) >= 400}
            codes |= {429, 500}
            if _needs_auth(endpoints.get((path, method), "")):
                codes |= {401}
                if method not in ("get", "head"):
                    codes |= {403}
            if "requestBody" in operation:
                codes |= {413, 415, 422}
            if operation.get("parameters"):
                codes |= {422}
            for code in codes:
                responses[str(code)] = _problem(code)
            if path.endswith(".vcf"):
                responses["200"] = {
                    "description": "vCard 4.0 file",
                    "content": {"text/vcard": {"schema": {"type": "string"}}},
                }
    # spectree's own validation-error schema is replaced by Problem everywhere.
    for name in [n for n in schemas if n.startswith("ValidationError")]:
        del schemas[name]
    _document = document
    return document


@blueprint.get("/openapi.json")
def openapi() -> Response:
    """The OpenAPI 3.1 document of this API."""
    return jsonify(openapi_document())


@blueprint.get("/docs")
def docs() -> Response:
    """A readable page of every operation, built from the OpenAPI document."""
    return Response(DOCS_PAGE.format(spec_url=SPEC_URL), mimetype="text/html")

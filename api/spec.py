"""Request and response schemas, validated both ways, and the OpenAPI 3.1 document built from them (spectree).

A request that fails validation is a 422 problem with one entry per field at fault; a response that does not
match its declared schema is logged and answered as a 500 problem (a bug on our side, never sent as is).
"""

from __future__ import annotations

import logging
from typing import Any

from spectree import SecurityScheme, SecuritySchemeData, SpecTree
from spectree.models import InType, SecureType

from api.problems import Problem

log = logging.getLogger(__name__)

API_VERSION = "1"


def _field_errors(errors: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Pydantic errors as problem+json field errors: where (a JSON-pointer-like path) and what."""
    result = []
    for error in errors:
        location = [str(part) for part in error.get("loc", ())]
        result.append(
            {
                "field": ".".join(location) or "(body)",
                "message": error.get("msg", "invalid value"),
                "code": error.get("type", "invalid"),
            }
        )
    return result


def _before(_request: Any, _response: Any, error: Exception | None, _instance: Any, adapter: Any) -> None:
    if error is not None:
        errors = _field_errors(adapter.validation_errors(error))
        summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
        raise Problem(
            422,
            "Unprocessable Content",
            f"The request is not valid: {summary}",
            slug="validation-failed",
            errors=errors,
        )


def _where(errors: Any) -> list[str]:
    """Where a response failed its schema (field paths and error types only: the values may be contact data)."""
    found = []
    for error in errors if isinstance(errors, list) else []:
        if isinstance(error, dict):
            found.append(f"{'.'.join(str(p) for p in error.get('loc', ()))}: {error.get('type', '?')}")
    return found


def _after(request: Any, _response: Any, error: Exception | None, _instance: Any, adapter: Any) -> None:
    if error is not None:
        log.error(
            "response of %s %s does not match its schema: %s",
            request.method,
            request.path,
            _where(adapter.validation_errors(error)),
        )
        raise Problem(
            500,
            "Internal Server Error",
            "Something went wrong on our side. It has been logged; try again later.",
            slug="internal-error",
        )


DOCS_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>sixdeg API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
 body {{ font: 15px/1.5 system-ui, sans-serif; margin: 0; color: #1d2433; background: #f7f8fb; }}
 header {{ background: #1d2433; color: #fff; padding: 1.2rem 2rem; }}
 header a {{ color: #9cc4ff; }}
 main {{ max-width: 60rem; margin: 0 auto; padding: 1rem 2rem 4rem; }}
 details {{ background: #fff; border: 1px solid #dde2ec; border-radius: 8px; margin: .5rem 0; padding: .6rem 1rem; }}
 summary {{ cursor: pointer; font-family: ui-monospace, monospace; }}
 .m {{ display: inline-block; min-width: 4.5rem; font-weight: 700; }}
 .GET {{ color: #1f7a3d; }} .POST {{ color: #1558b0; }} .PATCH, .PUT {{ color: #8a5a00; }} .DELETE {{ color: #b0262b; }}
 pre {{ background: #f2f4f8; padding: .6rem; border-radius: 6px; overflow-x: auto; font-size: 13px; }}
 h2 {{ margin-top: 2rem; }}
</style></head>
<body><header><h1>sixdeg API</h1>
<p>OpenAPI 3.1 document: <a href="{spec_url}">{spec_url}</a>. Authenticate with
<code>Authorization: Bearer sdg_…</code> (create a token at <code>POST /v1/tokens</code>) or the browser session
cookie plus <code>X-CSRF-Token</code>. Errors are <code>application/problem+json</code>.</p></header>
<main id="ops"><p>Loading…</p></main>
<script>
fetch("{spec_url}").then(r => r.json()).then(spec => {{
  const main = document.getElementById("ops"); main.textContent = "";
  const byTag = {{}};
  for (const [path, ops] of Object.entries(spec.paths || {{}})) for (const [method, op] of Object.entries(ops)) {{
    const tag = (op.tags && op.tags[0] && (op.tags[0].name || op.tags[0])) || "other";
    (byTag[tag] = byTag[tag] || []).push([method.toUpperCase(), path, op]);
  }}
  for (const tag of Object.keys(byTag).sort()) {{
    const h = document.createElement("h2"); h.textContent = tag; main.appendChild(h);
    for (const [method, path, op] of byTag[tag]) {{
      const d = document.createElement("details"), s = document.createElement("summary");
      const m = document.createElement("span"); m.className = "m " + method; m.textContent = method;
      s.append(m, " " + path + "  ", op.summary || ""); d.appendChild(s);
      const pre = document.createElement("pre");
      pre.textContent = JSON.stringify({{description: op.description, parameters: op.parameters,
        requestBody: op.requestBody, responses: op.responses}}, null, 2);
      d.appendChild(pre); main.appendChild(d);
    }}
  }}
  const schemas = document.createElement("details"); schemas.innerHTML = "<summary>Schemas</summary>";
  const pre = document.createElement("pre"); pre.textContent = JSON.stringify(spec.components, null, 2);
  schemas.appendChild(pre); main.appendChild(schemas);
}}).catch(e => {{ document.getElementById("ops").textContent = "Could not load the API document: " + e; }});
</script></body></html>
"""

spec = SpecTree(
    "flask",
    title="sixdeg API",
    version=API_VERSION,
    description="Explore your personal network. Every error is application/problem+json (RFC 9457).",
    # spectree leaves out routes under its own path, so it must not be /v1; api/docs.py serves the document.
    path="_spectree",
    page_templates={},
    mode="strict",
    security_schemes=[
        SecurityScheme(
            name="bearer",
            data=SecuritySchemeData(
                type=SecureType.HTTP, scheme="bearer", description="A personal API token (sdg_...)."
            ),
        ),
        SecurityScheme(
            name="session",
            data=SecuritySchemeData(
                type=SecureType.API_KEY,
                field_in=InType.COOKIE,
                name="sixdeg_session",
                description="Browser session cookie; unsafe methods also need the X-CSRF-Token header.",
            ),
        ),
    ],
    security=[{"bearer": []}, {"session": []}],
    before=_before,
    after=_after,
    annotations=True,
)

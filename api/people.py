"""Finding people: search as you type, filters and facets, and one person's page."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, Response, jsonify, request
from spectree import Response as Responses

from api.context import config, db, login_required, require_user
from api.pagination import link_header
from api.problems import Problem
from api.schemas import PeopleOut, PeopleQuery, PersonOut, SuggestOut, SuggestQuery
from api.spec import spec
from pipelines.graph.stores import graph_store
from pipelines.search import queries
from pipelines.search.stores import search_index

blueprint = Blueprint("people", __name__, url_prefix="/v1")


@blueprint.get("/people")
@login_required
@spec.validate(query=PeopleQuery, resp=Responses(HTTP_200=PeopleOut, HTTP_422=None), tags=["people"])
def search(query: PeopleQuery) -> tuple[Response, int, dict[str, str]]:
    """Search your network: typo- and accent-tolerant words, filters, top companies, degree and highlights."""
    try:
        body = queries.search_people(
            config(),
            db(),
            search_index(config()),
            graph_store(config()),
            require_user(),
            q=query.q,
            company=query.company,
            title=query.title,
            location=query.location,
            degree={int(d) for d in query.degree.split(",")} if query.degree else None,
            limit=query.limit,
            cursor=query.cursor,
        )
    except ValueError as exc:
        raise Problem(
            422,
            "Unprocessable Content",
            "The cursor is not one this API gave out: start again without it.",
            slug="validation",
            errors=[{"field": "cursor", "message": str(exc), "code": "invalid"}],
        ) from exc
    body["next"] = None
    if body["next_cursor"]:
        args = {k: v for k, v in request.args.items() if k != "cursor"}
        body["next"] = f"{request.base_url}?{urlencode({**args, 'cursor': body['next_cursor']})}"
    return jsonify(body), 200, link_header(body)


@blueprint.get("/people/suggest")
@login_required
@spec.validate(query=SuggestQuery, resp=Responses(HTTP_200=SuggestOut), tags=["people"])
def suggest(query: SuggestQuery) -> Response:
    """As you type: people whose names start with the words typed so far."""
    items = queries.suggest_people(
        config(), db(), search_index(config()), graph_store(config()), require_user(), query.q, query.limit
    )
    return jsonify({"items": items})


@blueprint.get("/people/<int:person_id>")
@login_required
@spec.validate(resp=Responses(HTTP_200=PersonOut, HTTP_404=None), tags=["people"])
def person(person_id: int) -> Response:
    """One person as you may see them: name, company, title, location, degree and your own contact records."""
    detail = queries.person_detail(config(), db(), graph_store(config()), require_user(), person_id)
    if detail is None:
        raise Problem(404, "Not Found", f"There is no person {person_id} in your network.", slug="not-found")
    return jsonify(detail)

"""The network: intro paths, mutual connections, degree counts, reach into a company."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify
from spectree import Response as Responses

from api.context import config, db, login_required, require_user
from api.problems import Problem
from api.schemas import GraphOut, GraphQuery, MutualsOut, PathQuery, PathsOut, ReachOut, ReachQuery, StatsOut
from api.spec import spec
from pipelines.graph import queries
from pipelines.graph.stores import graph_store

blueprint = Blueprint("graph", __name__, url_prefix="/v1")


def _card(person_id: int) -> dict:
    card = queries.people_cards(db(), [person_id]).get(person_id)
    if card is None:
        raise Problem(404, "Not Found", f"There is no person {person_id}.", slug="not-found")
    return card


@blueprint.get("/paths")
@login_required
@spec.validate(query=PathQuery, resp=Responses(HTTP_200=PathsOut, HTTP_404=None), tags=["network"])
def paths(query: PathQuery) -> Response:
    """How you are connected to someone: the best routes (fewest hops, then strongest), every hop explained."""
    user = require_user()
    target = queries.resolve_person(db(), query.to)
    if target is None:
        raise Problem(
            404,
            "Not Found",
            f"Nobody matches {query.to!r}: give a person id, an email or key:<node>.",
            slug="not-found",
        )
    answer = queries.paths_answer(
        db(), graph_store(config()), user.person_id, target, user, max_hops=query.max_hops, limit=query.limit
    )
    if answer is None:  # the source or the target is gone since it was resolved
        for person_id in (user.person_id, target):
            _card(person_id)  # the 404 for whichever it is
    return jsonify(answer)


@blueprint.get("/people/<int:person_id>/mutuals")
@login_required
@spec.validate(resp=Responses(HTTP_200=MutualsOut, HTTP_404=None), tags=["network"])
def mutuals(person_id: int) -> Response:
    """People you both know (through edges you may traverse)."""
    user = require_user()
    card = _card(person_id)
    ids = graph_store(config()).mutuals(user.person_id, person_id, queries.access_for(db(), user))
    cards = queries.people_cards(db(), ids)
    return jsonify({"person": card, "mutuals": [cards[i] for i in ids if i in cards]})


@blueprint.get("/network/stats")
@login_required
@spec.validate(resp=Responses(HTTP_200=StatsOut), tags=["network"])
def stats() -> Response:
    """How many people are 1, 2 and 3 hops away from you."""
    user = require_user()
    counts = graph_store(config()).degree_counts(user.person_id, queries.access_for(db(), user), max_hops=3)
    return jsonify({"degrees": {str(d): counts.get(d, 0) for d in (1, 2, 3)}})


@blueprint.get("/network/graph")
@login_required
@spec.validate(query=GraphQuery, resp=Responses(HTTP_200=GraphOut, HTTP_404=None), tags=["network"])
def network_graph(query: GraphQuery) -> Response:
    """Your network (or someone's neighbourhood) for drawing: the nearest people and the connections among
    them, through edges you may use. Expand a node by asking again with `around` set to it and `hops=1`."""
    user = require_user()
    center = user.person_id if query.around is None else queries.resolve_person(db(), str(query.around))
    if center is None:
        raise Problem(404, "Not Found", f"There is no person {query.around}.", slug="not-found")
    found = graph_store(config()).neighbourhood(
        center, queries.access_for(db(), user), max_hops=query.hops, limit=query.limit
    )
    cards = queries.people_cards(db(), list(found.distances))
    nodes = [{**cards[person], "distance": distance} for person, distance in found.distances.items() if person in cards]
    edges = [
        {"source": a, "target": b, "strength": round(strength, 4)}
        for a, b, strength in found.edges
        if a in cards and b in cards
    ]
    return jsonify({"center": center, "nodes": nodes, "edges": edges, "truncated": found.truncated})


@blueprint.get("/network/reach")
@login_required
@spec.validate(query=ReachQuery, resp=Responses(HTTP_200=ReachOut), tags=["network"])
def reach(query: ReachQuery) -> Response:
    """Who can introduce you to someone at a company: people there within 3 hops, ranked by their best path."""
    user = require_user()
    targets = [p for p in queries.people_at_company(db(), query.company) if p != user.person_id]
    found = graph_store(config()).best_paths_to_each(
        user.person_id, targets, queries.access_for(db(), user), max_hops=3, limit=query.limit
    )
    rendered = queries.render_paths(db(), found, user)
    return jsonify(
        {"company": query.company, "people": [{"person": path["people"][-1], "path": path} for path in rendered]}
    )

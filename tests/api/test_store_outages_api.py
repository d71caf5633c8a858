"""A request that needs the graph database or the search server while it is down answers 503 with a problem
document and Retry-After (not a 500 reported as a bug), and the same request succeeds once the store is back.

The real Neo4j and OpenSearch are reached through a fault-injecting TCP proxy (tests/support/faultproxy.py):
`cut()` drops the connections and refuses new ones, as the client sees a server going away.
"""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest

from pipelines.health import store_outage
from tests.api.conftest import bearer
from tests.conftest import NEO4J_URL, OPENSEARCH_URL
from tests.support.faultproxy import FaultProxy
from tests.support.people import seed_user


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1].strip("/"))


@pytest.fixture
def behind_proxies(migrated_sqlite_config, neo4j_session, opensearch_client):
    """An API whose graph (Neo4j) and search (OpenSearch) stores are reached through proxies."""
    from api import create_app
    from pipelines.graph.stores import close_stores
    from pipelines.search.stores import close_indexes

    with FaultProxy("127.0.0.1", _port(NEO4J_URL)) as graph, FaultProxy("127.0.0.1", _port(OPENSEARCH_URL)) as search:
        config = replace(
            migrated_sqlite_config,
            graph_url=f"bolt://127.0.0.1:{graph.port}",
            search_url=f"opensearch+http://127.0.0.1:{search.port}",
            search_index=f"outage_{uuid.uuid4().hex[:8]}",
            backend_timeout=2.0,
        )
        yield create_app(config), config, graph, search
        close_stores()
        close_indexes()
    opensearch_client.indices.delete(index=f"{config.search_index}*", ignore_unavailable=True)


def _unavailable(response, store: str) -> None:
    assert response.status_code == 503, response.get_data(as_text=True)
    assert response.content_type == "application/problem+json"
    # 5 s from us; Flask-Limiter's headers raise it to its window's reset when that is later
    assert int(response.headers["Retry-After"]) >= 5
    assert f"The {store} did not answer in time or is not reachable" in response.get_json()["detail"]


def test_graph_and_search_outages_answer_503_and_recover(behind_proxies):
    app, config, graph, search = behind_proxies
    alice = seed_user(config, "alice@example.com")
    client = app.test_client()
    stats, people = "/v1/network/stats", "/v1/people?q=grace"
    assert client.get(stats, headers=bearer(alice)).status_code == 200
    assert client.get(people, headers=bearer(alice)).status_code == 200

    graph.cut()
    _unavailable(client.get(stats, headers=bearer(alice)), "graph database")
    graph.restore()
    assert client.get(stats, headers=bearer(alice)).status_code == 200

    search.cut()
    _unavailable(client.get(people, headers=bearer(alice)), "search server")
    search.restore()
    assert client.get(people, headers=bearer(alice)).status_code == 200


def test_a_graph_transaction_timeout_is_an_outage_and_other_errors_are_not():
    import neo4j.exceptions

    timed_out = neo4j.exceptions.Neo4jError._hydrate_neo4j(  # what the driver raises for the server's timeout
        code="Neo.ClientError.Transaction.TransactionTimedOutClientConfiguration", message="terminated"
    )
    assert store_outage(timed_out) == "graph database"
    syntax = neo4j.exceptions.Neo4jError._hydrate_neo4j(code="Neo.ClientError.Statement.SyntaxError", message="x")
    assert store_outage(syntax) is None
    assert store_outage(ValueError("a bug")) is None

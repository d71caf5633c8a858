"""Fixtures for the port contract suites: every adapter behind one parametrized fixture."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import pytest

from pipelines.graph.port import Edge, GraphStore, PersonNode


@dataclass
class LoadedGraph:
    """An adapter plus a way to fill it: `load(people, edges)` writes them where the adapter reads from."""

    store: GraphStore
    load: Callable[[Sequence[PersonNode], Sequence[Edge]], None]
    kind: str


def _sql_graph(config) -> LoadedGraph:
    from pipelines.graph.load import store_people_and_edges
    from pipelines.graph.sql import SqlGraph

    def load(people: Sequence[PersonNode], edges: Sequence[Edge]) -> None:
        store_people_and_edges(config, people, edges)

    return LoadedGraph(SqlGraph(config), load, "sql")


def _neo4j_graph(neo4j_session) -> LoadedGraph:
    from pipelines.graph.neo4j import Neo4jGraph
    from tests.conftest import NEO4J_URL

    store = Neo4jGraph(NEO4J_URL)
    store.ensure_schema()

    def load(people: Sequence[PersonNode], edges: Sequence[Edge]) -> None:
        store.upsert_people(people)
        store.upsert_edges(edges)

    return LoadedGraph(store, load, "neo4j")


@pytest.fixture(params=["sql-sqlite", "sql-postgres", "neo4j"])
def graph(request: pytest.FixtureRequest) -> Iterator[LoadedGraph]:
    """An empty graph on each adapter (and, for SQL, each database)."""
    if request.param == "neo4j":
        pytest.importorskip("pipelines.graph.neo4j", reason="the Neo4j adapter is not written yet")
        loaded = _neo4j_graph(request.getfixturevalue("neo4j_session"))
        yield loaded
        loaded.store.close()  # type: ignore[attr-defined]
        return
    config = request.getfixturevalue("migrated_sqlite_config" if request.param == "sql-sqlite" else "postgres_config")
    yield _sql_graph(config)


# --- search -----------------------------------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "opensearch", "elasticsearch"])
def search(request: pytest.FixtureRequest, tmp_path) -> Iterator[object]:
    """An empty search index on each engine, under an alias of its own (removed afterwards)."""
    import uuid

    alias = f"t{uuid.uuid4().hex[:10]}"
    if request.param == "sqlite":
        from pipelines.search.sqlite import SqliteSearch

        index = SqliteSearch(tmp_path / f"{alias}.search.db")
    else:
        from pipelines.search.engines import EngineSearch
        from tests.conftest import ELASTICSEARCH_URL, OPENSEARCH_URL, _port_open, service_unavailable

        url = OPENSEARCH_URL if request.param == "opensearch" else ELASTICSEARCH_URL
        problem = _port_open(url, 9200)
        if problem:
            service_unavailable(request.param, problem)
        index = EngineSearch(request.param, url, alias=alias)
    index.ensure_index()
    yield index
    index.clear()
    index.close()

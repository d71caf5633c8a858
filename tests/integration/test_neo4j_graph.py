"""The Neo4j graph adapter against a real Neo4j: schema, idempotent and version-ordered projection writes,
removals, timeouts, and the Cypher fast paths agreeing with the shared search they stand in for.

The behaviour every graph adapter shares (paths, ranking, access) is in tests/contract/test_graph.py.
"""

from __future__ import annotations

import time
from datetime import date

import pytest
from neo4j.exceptions import ClientError, ServiceUnavailable

from pipelines.graph.neo4j import Neo4jGraph
from pipelines.graph.port import EVERYTHING, Access, Edge, PersonNode
from tests.conftest import NEO4J_URL

pytestmark = pytest.mark.neo4j

U1, U2 = 1, 2


@pytest.fixture
def store(neo4j_session):
    """An adapter on an empty graph (the `neo4j_session` fixture wipes it before and after)."""
    graph = Neo4jGraph(NEO4J_URL)
    graph.ensure_schema()
    yield graph
    graph.close()


def snapshot(session) -> tuple[list[dict], list[dict]]:
    """Every node and KNOWS edge with all its properties, in a stable order."""
    nodes = session.run("MATCH (p:Person) RETURN properties(p) AS p ORDER BY p.id").value()
    edges = session.run(
        "MATCH (a:Person)-[r:KNOWS]->(b:Person) RETURN a.id AS a, b.id AS b, properties(r) AS r ORDER BY a, b"
    ).data()
    return nodes, edges


def person(i: int, version: int = 1, **fields) -> PersonNode:
    return PersonNode(id=i, name=fields.pop("name", f"Person {i}"), version=version, **fields)


def edge(a: int, b: int, strength: float = 0.5, owner: int | None = None, version: int = 1, **fields) -> Edge:
    return Edge(from_id=a, to_id=b, owner_user_id=owner, strength=strength, version=version, **fields)


# --- schema -------------------------------------------------------------------------------------------------------


def test_schema_is_idempotent_and_enforces_unique_person_ids(store, neo4j_session):
    store.ensure_schema()
    store.ensure_schema()
    constraints = neo4j_session.run(
        "SHOW CONSTRAINTS YIELD type, labelsOrTypes, properties WHERE 'Person' IN labelsOrTypes RETURN type, properties"
    ).data()
    assert constraints == [{"type": "UNIQUENESS", "properties": ["id"]}]
    neo4j_session.run("CREATE (:Person {id: 1})").consume()
    with pytest.raises(ClientError, match="already exists"):
        neo4j_session.run("CREATE (:Person {id: 1})").consume()


# --- idempotent, version-ordered writes -----------------------------------------------------------------------------


def test_applying_the_same_batch_twice_gives_the_same_graph(store, neo4j_session):
    people = [person(1, company="Acme", title="CTO"), person(2), person(3)]
    edges = [
        edge(1, 2, 0.7, U1, since=date(2020, 1, 2), evidence={"sources": [7], "mutual": True}),
        edge(2, 1, 0.4, U2),
        edge(2, 3, 0.5),
    ]
    store.upsert_people(people)
    store.upsert_edges(edges)
    first = snapshot(neo4j_session)
    store.upsert_people(people)
    store.upsert_edges(edges)
    assert snapshot(neo4j_session) == first
    nodes, stored = first
    assert [n["id"] for n in nodes] == [1, 2, 3]
    assert nodes[0] == {"id": 1, "name": "Person 1", "company": "Acme", "title": "CTO", "version": 1, "degree": 2}
    assert [(e["a"], e["b"]) for e in stored] == [(1, 2), (2, 1), (2, 3)]  # one edge per stored direction
    assert stored[0]["r"]["owner"] == U1
    assert stored[0]["r"]["evidence_json"] == '{"mutual": true, "sources": [7]}'
    assert stored[0]["r"]["since"].to_native() == date(2020, 1, 2)
    assert "owner" not in stored[2]["r"]  # unowned: the property is absent (null)


def test_an_older_person_never_overwrites_a_newer_one(store, neo4j_session):
    store.upsert_people([person(1, version=2, name="New Name", company="New Co")])
    store.upsert_people([person(1, version=1, name="Old Name", company="Old Co")])  # late redelivery
    (node,), _ = snapshot(neo4j_session)
    assert (node["name"], node["company"], node["version"]) == ("New Name", "New Co", 2)
    store.upsert_people([person(1, version=3, name="Newest")])  # company gone in the newest version
    (node,), _ = snapshot(neo4j_session)
    assert (node["name"], node.get("company"), node["version"]) == ("Newest", None, 3)


def test_an_older_edge_never_overwrites_a_newer_one(store, neo4j_session):
    store.upsert_people([person(1), person(2)])
    store.upsert_edges([edge(1, 2, 0.9, U1, version=5, evidence={"sources": [1, 2]})])
    store.upsert_edges([edge(1, 2, 0.1, U2, version=4, evidence={"sources": [1]})])
    _, (stored,) = snapshot(neo4j_session)
    assert (stored["r"]["strength"], stored["r"]["owner"], stored["r"]["version"]) == (0.9, U1, 5)
    (path,) = store.shortest_paths(1, 2, EVERYTHING)
    assert (path.hops[0].strength, path.hops[0].evidence) == (0.9, {"sources": [1, 2]})
    store.upsert_edges([edge(1, 2, 0.3, U1, version=6)])
    _, (stored,) = snapshot(neo4j_session)
    assert (stored["r"]["strength"], stored["r"]["version"]) == (0.3, 6)


def test_edges_arriving_before_their_people_are_kept(store, neo4j_session):
    store.upsert_edges([edge(1, 2, 0.6), edge(2, 3, 0.6)])
    nodes, edges = snapshot(neo4j_session)
    assert nodes == [{"id": 1, "degree": 1}, {"id": 2, "degree": 2}, {"id": 3, "degree": 1}]  # created by id
    assert len(edges) == 2
    store.upsert_people([person(1), person(2, version=7), person(3)])
    nodes, edges = snapshot(neo4j_session)
    assert [(n["id"], n["name"], n["version"]) for n in nodes] == [
        (1, "Person 1", 1),
        (2, "Person 2", 7),
        (3, "Person 3", 1),
    ]
    assert len(edges) == 2
    assert [p.people for p in store.shortest_paths(1, 3, EVERYTHING)] == [(1, 2, 3)]


def test_large_batches_are_split_and_all_written(store, neo4j_session):
    people = [person(i) for i in range(1, 12_001)]
    edges = [edge(i, i + 1) for i in range(1, 12_000)]
    store.upsert_people(people)
    store.upsert_edges(edges)
    assert neo4j_session.run("MATCH (p:Person) RETURN count(p)").single()[0] == 12_000
    assert neo4j_session.run("MATCH ()-[r:KNOWS]->() RETURN count(r)").single()[0] == 11_999
    store.remove_people([p.id for p in people[:6_000]])
    assert neo4j_session.run("MATCH (p:Person) RETURN count(p)").single()[0] == 6_000
    assert neo4j_session.run("MATCH ()-[r:KNOWS]->() RETURN count(r)").single()[0] == 5_999


# --- removals -------------------------------------------------------------------------------------------------------


def test_removing_people_removes_their_edges(store, neo4j_session):
    store.upsert_people([person(i) for i in (1, 2, 3, 4)])
    store.upsert_edges([edge(1, 2), edge(3, 2), edge(3, 4)])
    store.remove_people([2, 99])  # 99 does not exist: nothing happens for it
    nodes, edges = snapshot(neo4j_session)
    assert [n["id"] for n in nodes] == [1, 3, 4]
    assert [(e["a"], e["b"]) for e in edges] == [(3, 4)]
    assert store.shortest_paths(1, 3, EVERYTHING) == []
    store.remove_people([2])  # again: still nothing to do
    assert snapshot(neo4j_session)[1] == edges


def test_removing_edges_by_stored_direction(store, neo4j_session):
    store.upsert_edges([edge(1, 2, owner=U1), edge(2, 1, owner=U2), edge(2, 3)])
    assert store.edge_pairs_touching([2]) == [(1, 2), (2, 1), (2, 3)]
    assert store.edge_pairs_touching([1, 3]) == [(1, 2), (2, 1), (2, 3)]
    store.remove_edges([(1, 2), (3, 2)])  # (3, 2) is not stored that way round: kept
    _, edges = snapshot(neo4j_session)
    assert [(e["a"], e["b"]) for e in edges] == [(2, 1), (2, 3)]
    (path,) = store.shortest_paths(1, 3, EVERYTHING)
    assert path.hops[0].owner_user_id == U2
    assert store.edge_pairs_touching([]) == []


def stored_degrees(neo4j_session) -> dict[int, tuple[int | None, int]]:
    """Each person's stored `degree` and their actual KNOWS edge count."""
    rows = neo4j_session.run("MATCH (p:Person) RETURN p.id AS id, p.degree AS stored, COUNT { (p)-[:KNOWS]-() } AS n")
    return {r["id"]: (r["stored"], r["n"]) for r in rows}


def test_every_write_keeps_the_stored_edge_counts(store, neo4j_session):
    store.upsert_people([person(i) for i in (1, 2, 3, 4, 5)])
    store.upsert_edges([edge(1, 2), edge(2, 1, owner=U1), edge(2, 3), edge(3, 4), edge(4, 2)])
    store.upsert_edges([edge(2, 3, 0.3)])  # an update: no count changes
    assert stored_degrees(neo4j_session) == {1: (2, 2), 2: (4, 4), 3: (2, 2), 4: (2, 2), 5: (None, 0)}
    store.remove_edges([(3, 4)])
    assert stored_degrees(neo4j_session) == {1: (2, 2), 2: (4, 4), 3: (1, 1), 4: (1, 1), 5: (None, 0)}
    store.remove_people([2, 5])
    assert stored_degrees(neo4j_session) == {1: (0, 0), 3: (0, 0), 4: (0, 0)}
    store.clear()
    store.create_edges([edge(1, 2), edge(2, 3), edge(1, 3), edge(3, 4)])
    assert {p: stored for p, (stored, _) in stored_degrees(neo4j_session).items()} == dict.fromkeys((1, 2, 3, 4))
    store.recount_degrees()
    assert stored_degrees(neo4j_session) == {1: (2, 2), 2: (2, 2), 3: (3, 3), 4: (1, 1)}


def test_clear_empties_the_graph(store, neo4j_session):
    store.upsert_edges([edge(i, i + 1) for i in range(1, 50)])
    store.clear()
    assert snapshot(neo4j_session) == ([], [])
    store.clear()  # on an empty graph too


# --- timeouts -------------------------------------------------------------------------------------------------------


def test_a_query_past_its_transaction_timeout_is_stopped_by_the_server(neo4j_session):
    graph = Neo4jGraph(NEO4J_URL, timeout=0.5)
    try:
        started = time.monotonic()
        with pytest.raises(ClientError, match="TransactionTimedOut"):
            graph._read(
                lambda tx: tx.run("UNWIND range(1, 100000) AS x UNWIND range(1, 100000) AS y RETURN count(*)").single()
            )
        assert time.monotonic() - started < 5
        graph.ping()  # the driver is still usable afterwards
    finally:
        graph.close()


def test_batch_writes_get_their_own_longer_timeout(neo4j_session):
    """A projection batch may outlast the read timeout requests use (a cold server, a busy machine)."""
    graph = Neo4jGraph(NEO4J_URL, timeout=0.2, write_timeout=60)
    count = "UNWIND range(1, $n) AS x RETURN count(*) AS n"
    try:
        # Far beyond 0.2 s on any machine (a 10x smaller count once finished within it on a fast one).
        with pytest.raises(ClientError, match="TransactionTimedOut"):
            graph._read(lambda tx: tx.run(count, n=1_000_000_000).single())
        # Seconds of server work: over the read timeout, well within the write one.
        assert graph._write(lambda tx: tx.run(count, n=100_000_000).single(strict=True)["n"]) == 100_000_000
    finally:
        graph.close()


def test_an_unreachable_server_fails_fast():
    graph = Neo4jGraph("bolt://127.0.0.1:1", timeout=0.5)
    try:
        started = time.monotonic()
        with pytest.raises(ServiceUnavailable):
            graph.ping()
        assert time.monotonic() - started < 5
    finally:
        graph.close()


# --- paths ----------------------------------------------------------------------------------------------------------
#
# Source 1, target 9. One shortest path, of 3 hops: (1,2,5,9). Three of 4 hops (found by bridging the two BFS
# frontiers): (1,4,7,8,9) at 1.0 (all U2's edges),
# (1,2,3,5,9) at 0.5184, (1,2,6,5,9) at 0.2025 (two of U1's edges). One of 5 hops, (1,2,3,10,11,9), and one of 6,
# (1,2,5,3,10,11,9).

LADDER = [
    edge(1, 2, 0.9),
    edge(2, 5, 0.9),
    edge(5, 9, 0.9),
    edge(2, 3, 0.8),
    edge(3, 5, 0.8),
    edge(6, 2, 0.5, U1),
    edge(5, 6, 0.5, U1),
    edge(1, 4, 1.0, U2),
    edge(4, 7, 1.0, U2),
    edge(7, 8, 1.0, U2),
    edge(8, 9, 1.0, U2),
    edge(3, 10, 1.0),
    edge(10, 11, 1.0),
    edge(11, 9, 1.0),
]


def test_every_path_one_hop_longer_is_found(store):
    store.upsert_people([person(i) for i in range(1, 12)])
    store.upsert_edges(LADDER)
    paths = store.shortest_paths(1, 9, EVERYTHING, max_hops=4, limit=10)
    assert [p.people for p in paths] == [(1, 2, 5, 9), (1, 4, 7, 8, 9), (1, 2, 3, 5, 9), (1, 2, 6, 5, 9)]
    restricted = store.shortest_paths(1, 9, Access(frozenset({U1})), max_hops=4, limit=10)
    assert [p.people for p in restricted] == [(1, 2, 5, 9), (1, 2, 3, 5, 9), (1, 2, 6, 5, 9)]


def test_an_over_budget_path_search_falls_back_to_the_shared_search_with_the_same_answer(store):
    store.upsert_people([person(i) for i in range(1, 12)])
    store.upsert_edges(LADDER)
    expected = store.shortest_paths(1, 9, EVERYTHING, limit=6)
    to_each = store.best_paths_to_each(1, [5, 9, 11], EVERYTHING, max_hops=4)
    store.path_budget = 1  # the Cypher enumeration of best_paths_to_each is over budget
    assert store.shortest_paths(1, 9, EVERYTHING, limit=6) == expected
    assert store.best_paths_to_each(1, [5, 9, 11], EVERYTHING, max_hops=4) == to_each
    assert [p.people for p in expected] == [
        (1, 2, 5, 9),
        (1, 4, 7, 8, 9),
        (1, 2, 3, 5, 9),
        (1, 2, 6, 5, 9),
        (1, 2, 3, 10, 11, 9),
        (1, 2, 5, 3, 10, 11, 9),
    ]
    # 11 is 4 hops away two ways: (1,2,5,9,11) at 0.729 beats (1,2,3,10,11) at 0.72.
    assert [p.people for p in to_each] == [(1, 2, 5), (1, 2, 5, 9), (1, 2, 5, 9, 11)]


def test_max_hops_above_six_is_refused(store):
    with pytest.raises(ValueError, match="at most 6"):
        store.shortest_paths(1, 2, EVERYTHING, max_hops=7)
    with pytest.raises(ValueError, match="at most 6"):
        store.best_paths_to_each(1, [2], EVERYTHING, max_hops=7)


def test_people_absent_from_the_graph(store):
    assert store.shortest_paths(1, 2, EVERYTHING) == []
    assert store.hop_distances(1, EVERYTHING) == {1: 0}
    assert store.degree_counts(1, EVERYTHING, max_hops=2) == {1: 0, 2: 0}
    assert store.mutuals(1, 2, EVERYTHING) == []
    assert store.best_paths_to_each(1, [2, 3], EVERYTHING) == []
    store.ping()


def test_no_walk_of_the_other_parity_means_no_extra_paths(store):
    # A square 1-2-3-4 with a triangle 2-5-6 hanging off 2: two shortest paths 1→3, none of 3 hops, and the only
    # odd walk, (1,2,5,6,2,3), revisits 2. So the answer is just the two squares' sides.
    store.upsert_edges([edge(1, 2), edge(2, 3), edge(3, 4), edge(4, 1), edge(2, 5), edge(5, 6), edge(6, 2)])
    for limit, max_hops in [(5, 6), (3, 6), (3, 3), (5, 5)]:
        paths = store.shortest_paths(1, 3, EVERYTHING, limit=limit, max_hops=max_hops)
        assert [p.people for p in paths] == [(1, 2, 3), (1, 4, 3)]
    assert [p.people for p in store.shortest_paths(5, 3, EVERYTHING, limit=5)] == [
        (5, 2, 3),
        (5, 6, 2, 3),
        (5, 2, 1, 4, 3),
        (5, 6, 2, 1, 4, 3),
    ]

"""Postgres → Neo4j projection: after imports and deletions, Neo4j answers exactly as the SQL adapter does."""

from dataclasses import replace

import pytest

from actors.projections import sync_people
from pipelines.db import unit_of_work
from pipelines.graph.port import EVERYTHING
from pipelines.graph.sql import SqlGraph
from pipelines.graph.stores import close_stores, graph_store, rebuild
from pipelines.models import User
from pipelines.ownership import delete_contacts
from tests.conftest import NEO4J_URL
from tests.support.people import seed_user

GRACE = {"given_name": "Grace", "family_name": "Hopper", "emails": ["grace@navy.example"], "company": "Navy"}
ALAN = {"given_name": "Alan", "family_name": "Turing", "emails": ["alan@bletchley.example"]}


@pytest.fixture
def neo4j_config(postgres_config, neo4j_session, broker_setup):
    config = replace(postgres_config, graph_url=NEO4J_URL)
    broker_setup(config)
    yield config
    close_stores()


def _answers(store, pairs):
    return [[(p.people, round(p.strength, 4)) for p in store.shortest_paths(a, b, EVERYTHING)] for a, b in pairs]


def test_projection_follows_imports_and_deletions(neo4j_config):
    alice = seed_user(neo4j_config, "alice@example.com", contacts=[GRACE, ALAN])
    bob = seed_user(neo4j_config, "bob@example.org", contacts=[GRACE])
    touched = {alice.person_id, bob.person_id, *alice.person_ids, *bob.person_ids}
    sync_people.fn(sorted(touched))  # what the outbox delivers after the imports' commits
    neo4j, sql = graph_store(neo4j_config), SqlGraph(neo4j_config)
    pairs = [(alice.person_id, bob.person_id), (bob.person_id, alice.person_ids[1]), (alice.person_id, 999_999)]
    assert _answers(neo4j, pairs) == _answers(sql, pairs)
    assert _answers(neo4j, pairs)[0][0][0] == (alice.person_id, alice.person_ids[0], bob.person_id)

    with unit_of_work(neo4j_config) as session:  # Alice deletes Alan: the edge and the orphan go
        delete_contacts(session, session.get(User, alice.user_id), [alice.contact_ids[1]])
    sync_people.fn([alice.person_id, alice.person_ids[1]])
    assert neo4j.shortest_paths(alice.person_id, alice.person_ids[1], EVERYTHING) == []
    assert _answers(neo4j, pairs) == _answers(sql, pairs)


def test_rebuild_refills_neo4j_from_postgres(neo4j_config):
    alice = seed_user(neo4j_config, "alice@example.com", contacts=[GRACE, ALAN])
    counts = rebuild(neo4j_config)
    assert counts["people"] >= 3 and counts["edges"] == 2
    neo4j, sql = graph_store(neo4j_config), SqlGraph(neo4j_config)
    pairs = [(alice.person_ids[0], alice.person_ids[1])]
    assert _answers(neo4j, pairs) == _answers(sql, pairs) != [[]]


def test_rebuild_in_many_batches_from_two_writers_copies_every_edge(neo4j_config, neo4j_session, monkeypatch):
    from pipelines.graph import stores

    monkeypatch.setattr(stores, "BATCH", 3)  # 14 edges: five batches, two writer threads
    contacts = [{"given_name": f"P{i}", "family_name": "X", "emails": [f"p{i}@example.com"]} for i in range(7)]
    alice = seed_user(neo4j_config, "alice@example.com", contacts=contacts)
    seed_user(neo4j_config, "bob@example.org", contacts=contacts)
    graph_store(neo4j_config).upsert_people([stores.PersonNode(id=424242, name="Stale")])  # cleared first
    counts = rebuild(neo4j_config)
    assert counts["edges"] == 14
    stored = neo4j_session.run("MATCH (a)-[r:KNOWS]->(b) RETURN a.id AS a, b.id AS b").values()
    assert len(stored) == 14 and len({tuple(pair) for pair in stored}) == 14
    assert neo4j_session.run("MATCH (p:Person {id: 424242}) RETURN count(p)").single()[0] == 0
    neo4j, sql = graph_store(neo4j_config), SqlGraph(neo4j_config)
    pairs = [(alice.person_ids[0], alice.person_ids[6]), (alice.person_id, alice.person_ids[3])]
    assert _answers(neo4j, pairs) == _answers(sql, pairs) != [[], []]

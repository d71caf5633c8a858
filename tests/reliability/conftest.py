"""Fixtures of the reliability drills: the real services, the drills' own RabbitMQ vhost, Neo4j and OpenSearch
URLs. Missing services fail the drills in CI and skip them locally (tests/conftest.py `service_unavailable`)."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from tests.conftest import NEO4J_URL, OPENSEARCH_URL, RABBITMQ_API_URL, service_unavailable
from tests.support import drills


@pytest.fixture(scope="session")
def drills_amqp_url(amqp_url: str) -> str:
    """The `drills` vhost on the shared RabbitMQ (created idempotently through the management API), so drills
    never see other tests' queues."""
    try:
        drills.ensure_vhost(RABBITMQ_API_URL, drills.VHOST)
    except Exception as exc:
        service_unavailable("RabbitMQ management API", f"cannot create vhost {drills.VHOST!r}: {exc}")
    return drills.vhost_url(amqp_url, drills.VHOST)


@pytest.fixture
def drill_queues(drills_amqp_url: str) -> Iterator[str]:
    """Empty drill queues before and after the test."""
    drills.purge_queues(drills_amqp_url)
    yield drills_amqp_url
    drills.purge_queues(drills_amqp_url)


@pytest.fixture
def stores(neo4j_driver: object, opensearch_client: object) -> dict[str, object]:
    """The real Neo4j and OpenSearch (the drills add nodes in their own id ranges and use their own index)."""
    return {"neo4j": neo4j_driver, "graph_url": NEO4J_URL, "search_url": f"opensearch+{OPENSEARCH_URL}"}


@pytest.fixture
def id_base() -> int:
    """A person-id range of its own for each drill (Neo4j Community has one database, shared by everyone)."""
    return random.randrange(10**6, 10**9) * 10**6

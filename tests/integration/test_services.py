"""The real Neo4j and OpenSearch servers from `make services` answer, and our readiness checks see them."""

from dataclasses import replace

from pipelines.health import check_backends
from tests.conftest import NEO4J_URL, OPENSEARCH_URL


def test_neo4j_answers_return_1(neo4j_session):
    assert neo4j_session.run("RETURN 1 AS one").single()["one"] == 1


def test_neo4j_is_the_community_5_26_lts(neo4j_session):
    record = neo4j_session.run("CALL dbms.components() YIELD name, versions, edition RETURN *").single()
    assert record["edition"] == "community"
    assert record["versions"][0].startswith("5.26.")


def test_neo4j_shortest_path_works(neo4j_session):
    neo4j_session.run(
        "CREATE (:P {id: 1})-[:KNOWS]->(:P {id: 2})-[:KNOWS]->(:P {id: 3})<-[:KNOWS]-(:P {id: 4})"
    ).consume()
    hops = neo4j_session.run(
        "MATCH (a:P {id: 1}), (b:P {id: 4}) MATCH p = shortestPath((a)-[:KNOWS*..6]-(b)) RETURN length(p) AS hops"
    ).single()["hops"]
    assert hops == 3


def test_opensearch_cluster_is_healthy(opensearch_client):
    health = opensearch_client.cluster.health(wait_for_status="yellow")
    assert health["status"] in ("green", "yellow")
    assert opensearch_client.info()["version"]["number"].startswith("2.19.")


def test_opensearch_has_the_analysis_modules(opensearch_client, opensearch_index):
    """analysis-common is loaded: asciifolding and edge n-grams work (search relies on them)."""
    opensearch_client.indices.create(
        index=opensearch_index,
        body={
            "settings": {
                "analysis": {
                    "filter": {"prefix": {"type": "edge_ngram", "min_gram": 1, "max_gram": 10}},
                    "analyzer": {
                        "folded_prefix": {"tokenizer": "standard", "filter": ["lowercase", "asciifolding", "prefix"]}
                    },
                }
            },
            "mappings": {
                "properties": {"name": {"type": "text", "analyzer": "folded_prefix", "search_analyzer": "standard"}}
            },
        },
    )
    opensearch_client.index(index=opensearch_index, id="1", body={"name": "Zoë Ångström"}, refresh=True)
    hits = opensearch_client.search(index=opensearch_index, body={"query": {"match": {"name": "zo"}}})
    assert hits["hits"]["total"]["value"] == 1


def test_readiness_checks_see_the_real_servers(sqlite_config, neo4j_session, opensearch_client):
    config = replace(sqlite_config, graph_url=NEO4J_URL, search_url=f"opensearch+{OPENSEARCH_URL}")
    results = {r.backend: r for r in check_backends(config, timeout=10)}
    assert results["graph"].ok, results["graph"].detail
    assert results["search"].ok, results["search"].detail
    assert results["search"].detail.startswith("cluster ")


def test_readiness_checks_see_postgres_and_rabbitmq(postgres_config, amqp_url):
    config = replace(postgres_config, broker_url=amqp_url)
    results = {r.backend: r for r in check_backends(config, timeout=10)}
    assert results["database"].ok and results["database"].kind == "postgresql", results["database"].detail
    assert results["broker"].ok and results["broker"].detail.startswith("AMQP 3."), results["broker"].detail

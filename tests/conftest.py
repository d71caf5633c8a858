"""Shared fixtures: embedded and real backends.

A test that needs a service it cannot reach fails when CI=true and skips with the reason otherwise
(DESIGN.md "Tests"). `make services` starts all four real services; their URLs can be overridden with the
SIXDEG_TEST_* variables below.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import create_engine, text

from pipelines.config import Config
from pipelines.db import dispose_engines
from pipelines.models import Base

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"

POSTGRES_URL = os.environ.get(
    "SIXDEG_TEST_POSTGRES_URL", "postgresql+psycopg://sixdeg:sixdeg@127.0.0.1:5432/sixdeg_test"
)
AMQP_URL = os.environ.get("SIXDEG_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
RABBITMQ_API_URL = os.environ.get("SIXDEG_TEST_RABBITMQ_API_URL", "http://guest:guest@127.0.0.1:15672/api")
NEO4J_URL = os.environ.get("SIXDEG_TEST_NEO4J_URL", "bolt://127.0.0.1:7687")
OPENSEARCH_URL = os.environ.get("SIXDEG_TEST_OPENSEARCH_URL", "http://127.0.0.1:9200")
ELASTICSEARCH_URL = os.environ.get("SIXDEG_TEST_ELASTICSEARCH_URL", "http://127.0.0.1:9201")
REDIS_URL = os.environ.get("SIXDEG_TEST_REDIS_URL", "redis://127.0.0.1:6379")

IN_CI = os.environ.get("CI", "").lower() == "true"


def service_unavailable(service: str, reason: str) -> None:
    """Fail in CI, skip locally, always saying what is missing and how to get it."""
    message = f"{service} is not reachable ({reason}); start it with `make services`"
    if IN_CI:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def _port_open(url: str, default_port: int) -> str | None:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or default_port), timeout=2):
            return None
    except OSError as exc:
        return str(exc)


def embedded_config(data_dir: Path, **overrides: object) -> Config:
    """A config on the embedded defaults, with its state in `data_dir`."""
    return Config.from_env({}, data_dir=data_dir, **overrides)


@pytest.fixture
def sqlite_config(tmp_path: Path) -> Iterator[Config]:
    """Embedded defaults in a fresh directory (an empty, unmigrated SQLite database)."""
    yield embedded_config(tmp_path / "var")
    dispose_engines()


# --- PostgreSQL -------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_url() -> str:
    problem = _port_open(POSTGRES_URL, 5432)
    if problem:
        service_unavailable("PostgreSQL", problem)
    return POSTGRES_URL


def _admin_url(url: str) -> str:
    parts = urlsplit(url)
    return parts._replace(path="/postgres").geturl()


@pytest.fixture
def fresh_postgres_config(postgres_url: str, tmp_path: Path) -> Iterator[Config]:
    """A brand-new, empty Postgres database for this test only (dropped afterwards)."""
    name = f"sixdeg_t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(_admin_url(postgres_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = urlsplit(postgres_url)._replace(path=f"/{name}").geturl()
    try:
        yield embedded_config(tmp_path / "var", database_url=url)
    finally:
        dispose_engines()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def migrated_postgres_url(postgres_url: str) -> str:
    """The shared test database, wiped and migrated to head once per test run."""
    from pipelines.migrate import upgrade

    engine = create_engine(postgres_url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    upgrade(Config.from_env({}, data_dir=Path("/tmp/sixdeg-test-unused"), database_url=postgres_url))
    dispose_engines()
    return postgres_url


def truncate_all(config: Config) -> None:
    """Empty every table (fast per-test isolation on the shared database)."""
    from pipelines.db import get_engine

    engine = get_engine(config)
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                connection.execute(text(f"DELETE FROM {table}"))


@pytest.fixture
def postgres_config(migrated_postgres_url: str, tmp_path: Path) -> Iterator[Config]:
    """The migrated shared Postgres database, emptied before the test."""
    config = embedded_config(tmp_path / "var", database_url=migrated_postgres_url)
    truncate_all(config)
    yield config
    dispose_engines()


@pytest.fixture(scope="session")
def _migrated_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite database migrated to head per run; tests get a copy (much faster than migrating each)."""
    from pipelines.migrate import upgrade

    data_dir = tmp_path_factory.mktemp("sqlite-template")
    config = embedded_config(data_dir)
    upgrade(config)
    dispose_engines()
    return data_dir / "sixdeg.db"


@pytest.fixture
def migrated_sqlite_config(sqlite_config: Config, _migrated_sqlite_template: Path) -> Config:
    import shutil

    target = sqlite_config.data_dir / "sixdeg.db"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_migrated_sqlite_template, target)
    return sqlite_config


@pytest.fixture(params=["sqlite", "postgres"])
def db_config(request: pytest.FixtureRequest) -> Config:
    """A migrated, empty database: embedded SQLite and real Postgres."""
    name = "migrated_sqlite_config" if request.param == "sqlite" else "postgres_config"
    return request.getfixturevalue(name)


# --- RabbitMQ ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def amqp_url() -> str:
    problem = _port_open(AMQP_URL, 5672)
    if problem:
        service_unavailable("RabbitMQ", problem)
    return AMQP_URL


@pytest.fixture
def broker_setup() -> Iterator[object]:
    """Install a broker for a config; afterwards, restore an embedded in-memory broker."""
    from actors import broker as broker_module

    yield broker_module.setup
    broker_module.setup(embedded_config(Path("/tmp/sixdeg-test-default")))


@pytest.fixture(scope="session")
def redis_url() -> str:
    problem = _port_open(REDIS_URL, 6379)
    if problem:
        service_unavailable("Redis", problem)
    return REDIS_URL


# --- Neo4j and OpenSearch ---------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def neo4j_driver() -> Iterator[object]:
    from neo4j import GraphDatabase

    problem = _port_open(NEO4J_URL, 7687)
    if problem:
        service_unavailable("Neo4j", problem)
    driver = GraphDatabase.driver(NEO4J_URL, auth=None, connection_timeout=5)
    try:
        driver.verify_connectivity()
    except Exception as exc:
        driver.close()
        service_unavailable("Neo4j", str(exc))
    yield driver
    driver.close()


@pytest.fixture
def neo4j_session(neo4j_driver: object) -> Iterator[object]:
    """A Neo4j session on an empty graph (every node deleted before and after the test)."""
    with neo4j_driver.session(database="neo4j") as session:  # type: ignore[attr-defined]
        _wipe(session)
        yield session
        _wipe(session)


def _wipe(session: object) -> None:
    """Delete every node in batches: one transaction over a big leftover graph (a benchmark's) would exceed
    Neo4j's transaction memory limit."""
    session.run("MATCH ()-[r]->() CALL (r) { DELETE r } IN TRANSACTIONS OF 10000 ROWS").consume()  # type: ignore[attr-defined]
    session.run("MATCH (n) CALL (n) { DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def opensearch_client() -> Iterator[object]:
    from opensearchpy import OpenSearch

    problem = _port_open(OPENSEARCH_URL, 9200)
    if problem:
        service_unavailable("OpenSearch", problem)
    client = OpenSearch([OPENSEARCH_URL], timeout=10)
    yield client
    client.close()


@pytest.fixture
def opensearch_index(opensearch_client: object) -> Iterator[str]:
    """A unique index name for this test; the index is deleted afterwards."""
    name = f"sixdeg-test-{uuid.uuid4().hex[:10]}"
    yield name
    opensearch_client.indices.delete(index=name, ignore_unavailable=True)  # type: ignore[attr-defined]


# --- A running messaging stack: database + broker + in-process worker -------------------------------------------


@pytest.fixture(params=["embedded", "production"])
def stack(request: pytest.FixtureRequest, tmp_path: Path, broker_setup) -> Iterator[object]:
    """A migrated database, a broker and a worker consuming the test queue.

    embedded: SQLite + the in-process broker. production: Postgres + RabbitMQ (publisher confirms on).
    """
    from dataclasses import replace

    from actors.broker import start_worker
    from tests.support import messaging

    if request.param == "embedded":
        config = request.getfixturevalue("migrated_sqlite_config")
    else:
        config = replace(request.getfixturevalue("postgres_config"), broker_url=request.getfixturevalue("amqp_url"))
    config = replace(config, outbox_grace=0.2, worker_threads=2)
    broker = broker_setup(config)
    worker = start_worker(broker, config, queues={messaging.TEST_QUEUE, f"{messaging.TEST_QUEUE}.DQ", "maintenance"})

    class Stack:
        pass

    running = Stack()
    running.kind, running.config, running.broker, running.worker = request.param, config, broker, worker
    yield running
    worker.stop(timeout=5000)
    if request.param == "production":
        messaging.delete_rabbit_queues(config.broker_url, messaging.TEST_QUEUE)


@pytest.fixture(autouse=True)
def _cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 with its cheapest parameters in tests (still argon2id; production uses the library defaults)."""
    from argon2 import PasswordHasher, profiles

    from pipelines import accounts

    monkeypatch.setattr(accounts, "_hasher", PasswordHasher.from_parameters(profiles.CHEAPEST))


@pytest.fixture(autouse=True)
def _background_publishes_end_with_the_test() -> Iterator[None]:
    """API requests publish their outbox rows from a background thread; let it finish before the next test
    installs another broker or drops the database."""
    yield
    from pipelines import outbox

    outbox.wait_published(10.0)

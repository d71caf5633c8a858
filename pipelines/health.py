"""Readiness checks: does each configured backend answer within a timeout?

Used by `/readyz` and `sixdeg doctor`. Checks run concurrently, so the slowest backend bounds the answer.
"""

from __future__ import annotations

import json
import sqlite3
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

import pika
from sqlalchemy import text

from pipelines.config import Config
from pipelines.db import get_engine


def store_outage(exc: BaseException) -> str | None:
    """Which store a request's error says is down or too slow ("graph database", "search server"), or None when
    the error is something else. A request that meets one is answered 503, not reported as a bug."""
    import elastic_transport
    import neo4j.exceptions
    import opensearchpy.exceptions

    if isinstance(exc, neo4j.exceptions.ServiceUnavailable | neo4j.exceptions.SessionExpired):
        return "graph database"
    if isinstance(exc, neo4j.exceptions.Neo4jError) and (exc.code or "").startswith(
        "Neo.ClientError.Transaction.TransactionTimedOut"
    ):
        return "graph database"
    search_down = (
        opensearchpy.exceptions.ConnectionError  # its ConnectionTimeout included
        | elastic_transport.ConnectionError
        | elastic_transport.ConnectionTimeout
    )
    if isinstance(exc, search_down):
        return "search server"
    return None


@dataclass(frozen=True)
class CheckResult:
    backend: str
    kind: str
    ok: bool
    detail: str


def check_database(config: Config, timeout: float) -> str:
    with get_engine(config).connect() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text(f"SET LOCAL statement_timeout = {int(timeout * 1000)}"))
        connection.execute(text("SELECT 1"))
    return "SELECT 1 answered"


def check_broker(config: Config, timeout: float) -> str:
    if config.broker_kind == "memory":
        return "in-process broker"
    params = pika.URLParameters(config.broker_url)
    params.socket_timeout = timeout
    params.blocked_connection_timeout = timeout
    params.connection_attempts = 1
    connection = pika.BlockingConnection(params)
    try:
        version = connection._impl.server_properties.get("version", "?")
        return f"AMQP {version.decode() if isinstance(version, bytes) else version}"
    finally:
        connection.close()


def check_graph(config: Config, timeout: float) -> str:
    if config.graph_kind == "sql":
        return "paths over the database"
    from neo4j import GraphDatabase

    with GraphDatabase.driver(
        config.graph_url, auth=None, connection_timeout=timeout, connection_acquisition_timeout=timeout
    ) as driver:
        with driver.session(database="neo4j") as session:  # auto-commit: no transparent retries
            one = session.run("RETURN 1 AS one").single(strict=True)["one"]
        if one != 1:
            raise RuntimeError("RETURN 1 did not return 1")
    return "RETURN 1 answered"


def check_search(config: Config, timeout: float) -> str:
    if config.search_kind == "sqlite":
        with sqlite3.connect(":memory:") as probe:
            probe.execute("CREATE VIRTUAL TABLE probe USING fts5(name)")
        return f"SQLite {sqlite3.sqlite_version} with FTS5"
    url = config.search_http_url.rstrip("/") + "/_cluster/health"
    with urllib.request.urlopen(url, timeout=timeout) as response:
        status = json.load(response).get("status")
    if status not in ("green", "yellow"):
        raise RuntimeError(f"cluster health is {status}")
    return f"cluster {status}"


CHECKS: dict[str, tuple[Callable[[Config], str], Callable[[Config, float], str]]] = {
    "database": (lambda c: c.database_kind, check_database),
    "broker": (lambda c: c.broker_kind, check_broker),
    "graph": (lambda c: c.graph_kind, check_graph),
    "search": (lambda c: c.search_kind, check_search),
}


def check_backends(config: Config, timeout: float | None = None) -> list[CheckResult]:
    """Run every backend check concurrently; a check that raises or exceeds `timeout` is not ok."""
    timeout = timeout or config.ready_timeout
    results: list[CheckResult] = []
    pool = ThreadPoolExecutor(max_workers=len(CHECKS), thread_name_prefix="readyz")
    try:
        deadline = time.monotonic() + timeout
        futures = {name: pool.submit(check, config, timeout) for name, (_kind, check) in CHECKS.items()}
        for name, future in futures.items():
            kind = CHECKS[name][0](config)
            try:
                remaining = max(0.0, deadline - time.monotonic())
                results.append(CheckResult(name, kind, True, future.result(timeout=remaining)))
            except FutureTimeout:
                results.append(CheckResult(name, kind, False, f"no answer within {timeout:g} s"))
            except Exception as exc:
                results.append(CheckResult(name, kind, False, f"{type(exc).__name__}: {exc}"[:300]))
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return results

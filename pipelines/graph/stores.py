"""Choosing the graph store from configuration, and projecting Postgres into Neo4j.

`SIXDEG_GRAPH_URL=sql` answers path queries straight from the `connections` table (nothing to project);
`bolt://...` answers them from Neo4j, which `GraphProjection` keeps equal to Postgres: the outbox sends the ids of
people whose data changed, and the projection re-reads them and their edges and upserts (version-checked) or
removes them. `rebuild` refills Neo4j from Postgres in batches (DESIGN.md principle 1).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from pipelines.config import Config
from pipelines.db import among, unit_of_work
from pipelines.graph.port import Edge, GraphStore, PersonNode
from pipelines.models import Connection, Person
from pipelines.projections import PROJECTION_FACTORIES

_stores: dict[str, GraphStore] = {}
_lock = threading.Lock()
BATCH = 5_000
#: Threads writing to Neo4j during `rebuild`.
WRITERS = 2


def graph_store(config: Config) -> GraphStore:
    """The process's graph store for `config` (one Neo4j driver per process; drivers pool connections)."""
    key = f"{config.graph_url}|{config.database_url}"
    with _lock:
        store = _stores.get(key)
        if store is None:
            if config.graph_kind == "neo4j":
                from pipelines.graph.neo4j import Neo4jGraph

                store = Neo4jGraph(config.graph_url, timeout=config.backend_timeout)
                store.ensure_schema()
            else:
                from pipelines.graph.sql import SqlGraph

                store = SqlGraph(config)
            _stores[key] = store
        return store


def close_stores() -> None:
    with _lock:
        for store in _stores.values():
            close = getattr(store, "close", None)
            if close:
                close()
        _stores.clear()


def person_node(person: Person) -> PersonNode:
    return PersonNode(
        id=person.id, name=person.display_name, company=person.company, title=person.title, version=person.version
    )


def edge_of(connection: Connection) -> Edge:
    return Edge(
        from_id=connection.from_person_id,
        to_id=connection.to_person_id,
        owner_user_id=connection.owner_user_id,
        strength=connection.strength,
        since=connection.connected_on,
        evidence=dict(connection.evidence or {}),
        version=connection.version,
    )


class GraphProjection:
    """Keeps Neo4j equal to Postgres for the people it is told about."""

    name = "graph"

    def __init__(self, store: GraphStore) -> None:
        self.store = store

    def versions(self) -> dict[int, int]:
        return self.store.person_versions()  # type: ignore[attr-defined]  # Neo4j only: SQL needs no projection

    def sync_people(self, session: Session, person_ids: Sequence[int]) -> None:
        ids = sorted(set(person_ids))
        alive = {
            p.id: p
            for chunk in _chunks(ids)
            for p in session.scalars(
                select(Person).where(among(session, Person.id, chunk), Person.merged_into.is_(None))
            )
        }
        gone = [pid for pid in ids if pid not in alive]
        if gone:
            self.store.remove_people(gone)
        edges = [
            edge_of(c)
            for chunk in _chunks(list(alive))
            for c in session.scalars(
                select(Connection).where(
                    or_(
                        among(session, Connection.from_person_id, chunk), among(session, Connection.to_person_id, chunk)
                    )
                )
            )
        ]
        neighbours = {e.from_id for e in edges} | {e.to_id for e in edges}
        nodes = {
            **alive,
            **{
                p.id: p
                for chunk in _chunks(sorted(neighbours - set(alive)))
                for p in session.scalars(select(Person).where(among(session, Person.id, chunk)))
            },
        }
        self.store.upsert_people([person_node(p) for p in nodes.values()])
        self.store.upsert_edges(edges)
        stale = set(self.store.edge_pairs_touching(list(alive))) - {(e.from_id, e.to_id) for e in edges}
        if stale:
            self.store.remove_edges(sorted(stale))


def _projection_for(config: Config) -> GraphProjection | None:
    return GraphProjection(graph_store(config)) if config.graph_kind == "neo4j" else None


PROJECTION_FACTORIES.append(_projection_for)


def _chunks(items: Sequence[Any], size: int = BATCH) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def rebuild(config: Config, *, progress: Any = None) -> dict[str, int]:
    """Empty the graph store and refill it from Postgres, streamed in batches; returns the counts.

    Rows are read as plain columns (no ORM objects), and edges go in with `create_edges`, which may skip MERGE's
    existence check because the graph was just emptied and `connections` holds each (from, to) once; every
    person's edge count is written once at the end."""
    store = graph_store(config)
    if config.graph_kind != "neo4j":
        return {"people": 0, "edges": 0}
    store.clear()  # type: ignore[attr-defined]
    store.ensure_schema()
    counts = {"people": 0, "edges": 0}
    people_columns = (Person.id, Person.display_name, Person.company, Person.title, Person.version)
    edge_columns = (
        Connection.from_person_id,
        Connection.to_person_id,
        Connection.owner_user_id,
        Connection.strength,
        Connection.connected_on,
        Connection.evidence,
        Connection.version,
    )
    with unit_of_work(config) as session:
        people = session.execute(
            select(*people_columns).where(Person.merged_into.is_(None)).order_by(Person.id),
            execution_options={"yield_per": BATCH},
        )
        _stream(people, lambda row: PersonNode(*row), store.upsert_people, "people", counts, progress)
        edges = session.execute(select(*edge_columns).order_by(Connection.id), execution_options={"yield_per": BATCH})
        edge = lambda row: Edge(*row[:5], evidence=row[5] or {}, version=row[6])  # noqa: E731
        _stream(edges, edge, store.create_edges, "edges", counts, progress)  # type: ignore[attr-defined]
    store.recount_degrees()  # type: ignore[attr-defined]
    return counts


def _stream(rows: Any, convert: Any, write: Any, what: str, counts: dict[str, int], progress: Any) -> None:
    """Write `rows` (converted) in batches of BATCH, counting them and reporting progress.

    `WRITERS` threads write while this one reads and converts the next batches (at most two per writer
    waiting): Neo4j applies two transactions at once on two cores, and reading Postgres overlaps with both. On
    GitHub's 289k edges the writes alone took 26 s from one thread and 17 s from two; the whole rebuild, 36 s before
    and 30 s after (reading and converting compete for the interpreter). Two writers can deadlock on a shared
    hub node; Neo4j detects it and the managed transaction retries (`Neo4jGraph._write`). Returns when every
    batch is written; the first failed write raises."""
    pending: list[Future[None]] = []
    with ThreadPoolExecutor(max_workers=WRITERS, thread_name_prefix=f"rebuild-{what}") as pool:

        def submit(batch: list[Any]) -> None:
            pending.append(pool.submit(write, batch))
            while len(pending) > 2 * WRITERS:
                pending.pop(0).result()
            counts[what] += len(batch)
            if progress:
                progress(what, counts[what])

        batch: list[Any] = []
        for row in rows:
            batch.append(convert(row))
            if len(batch) >= BATCH:
                submit(batch)
                batch = []
        if batch:
            submit(batch)
        for future in pending:
            future.result()

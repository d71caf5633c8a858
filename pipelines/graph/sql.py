"""The SQL graph adapter: paths over the `connections` table of the configured database (SQLite or Postgres).

This is the embedded default (`SIXDEG_GRAPH_URL=sql`). The database is the store: there is no projection to
keep in step, so the upsert/remove methods do nothing. Every query opens one read-only session and fetches
neighbours a whole BFS frontier at a time (`pipelines.graph.paths`), filtered by `Access` in SQL, using the
indexes on `connections.from_person_id` (the unique (from, to) index) and `connections.to_person_id`.
Merged-away people have no edges (a merge moves them to the survivor), so they need no special case.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Executable, false, or_, select, text, union_all
from sqlalchemy.orm import Session

from pipelines.config import Config
from pipelines.db import among, get_engine
from pipelines.graph import paths
from pipelines.graph.port import MAX_HOPS, Access, Edge, Hop, Neighbourhood, Path, PersonNode
from pipelines.models import Connection

_edges = Connection.__table__.c

#: People per neighbour query on SQLite (two IN lists per query, well under its 32,766 bound parameters).
#: Postgres takes a whole frontier as one array parameter.
_SQLITE_CHUNK = 5_000


class SqlGraph:
    """`GraphStore` over the `connections` table: bidirectional BFS and best-first k paths in Python, one
    neighbour query per BFS layer."""

    name = "sql"

    def __init__(self, config: Config) -> None:
        self._engine = get_engine(config)

    # --- store maintenance: Postgres/SQLite is the store itself --------------------------------------------------

    def ping(self) -> None:
        with self._engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def ensure_schema(self) -> None:
        """Nothing to do: migrations create the table and its indexes."""

    def upsert_people(self, people: Sequence[PersonNode]) -> None:
        """Nothing to do: the adapter reads `people`/`connections` directly; there is no projection."""

    def upsert_edges(self, edges: Sequence[Edge]) -> None:
        """Nothing to do: the adapter reads `connections` directly; there is no projection."""

    def remove_people(self, person_ids: Sequence[int]) -> None:
        """Nothing to do: the adapter reads `connections` directly; there is no projection."""

    def remove_edges(self, pairs: Sequence[tuple[int, int]]) -> None:
        """Nothing to do: the adapter reads `connections` directly; there is no projection."""

    # --- queries -------------------------------------------------------------------------------------------------

    def shortest_paths(
        self, source: int, target: int, access: Access, *, max_hops: int = MAX_HOPS, limit: int = 5
    ) -> list[Path]:
        _check_max_hops(max_hops)
        with Session(self._engine) as session:
            nb = _neighbours(session, access)
            found = paths.k_best_paths(nb, source, target, max_hops=max_hops, limit=limit)
            return self._paths(session, found, access)

    def hop_distances(self, source: int, access: Access, *, max_hops: int | None = None) -> dict[int, int]:
        with Session(self._engine) as session:
            return paths.hop_distances(_neighbours(session, access), source, max_hops)

    def mutuals(self, a: int, b: int, access: Access) -> list[int]:
        with Session(self._engine) as session:
            return paths.mutuals(_neighbours(session, access), a, b)

    def degree_counts(self, source: int, access: Access, *, max_hops: int = 3) -> dict[int, int]:
        with Session(self._engine) as session:
            return paths.degree_counts(_neighbours(session, access), source, max_hops)

    def neighbourhood(self, source: int, access: Access, *, max_hops: int = 2, limit: int = 2000) -> Neighbourhood:
        with Session(self._engine) as session:
            return paths.neighbourhood(_neighbours(session, access), source, max_hops, limit)

    def best_paths_to_each(
        self, source: int, targets: Sequence[int], access: Access, *, max_hops: int = 3, limit: int = 20
    ) -> list[Path]:
        _check_max_hops(max_hops)
        with Session(self._engine) as session:
            nb = _neighbours(session, access)
            found = paths.best_paths_to_each(nb, source, targets, max_hops=max_hops, limit=limit)
            return self._paths(session, found, access)

    def _paths(self, session: Session, sequences: list[tuple[int, ...]], access: Access) -> list[Path]:
        """Attach each hop's stored edge (owner, strength, since, evidence): one query for all of them."""
        if not sequences:
            return []
        people = sorted({p for seq in sequences for p in seq})
        query = select(
            _edges.from_person_id,
            _edges.to_person_id,
            _edges.strength,
            _edges.owner_user_id,
            _edges.connected_on,
            _edges.evidence,
        ).where(among(session, _edges.from_person_id, people), among(session, _edges.to_person_id, people))
        permitted = _permitted(session, access)
        if permitted is not None:
            query = query.where(permitted)
        edges = [
            Hop(from_id=a, to_id=b, strength=s, owner_user_id=o, since=since, evidence=evidence or {})
            for a, b, s, o, since, evidence in session.execute(query)
        ]
        return paths.build_paths(sequences, edges)


def _check_max_hops(max_hops: int) -> None:
    if max_hops > MAX_HOPS:
        raise ValueError(f"max_hops is at most {MAX_HOPS} (got {max_hops})")


def _permitted(session: Session, access: Access) -> ColumnElement[bool] | None:
    """The SQL form of `Access.allows` on `connections.owner_user_id`; None when every edge is allowed."""
    if access.owners is None:
        return None
    clauses = []
    if access.owners:
        clauses.append(among(session, _edges.owner_user_id, sorted(access.owners)))
    if access.include_unowned:
        clauses.append(_edges.owner_user_id.is_(None))
    return or_(*clauses) if clauses else false()


def _plain_rows(session: Session, query: Executable) -> list[tuple[Any, ...]]:
    """The rows as the driver returns them (plain tuples). A BFS layer can be 10^5 rows, and building SQLAlchemy
    Row objects for them costs as much as running the query; these columns (ids, a float) need no conversion."""
    result = session.connection().execute(query)
    try:
        return result.cursor.fetchall() if result.cursor is not None else [tuple(row) for row in result]
    finally:
        result.close()


def _neighbours(session: Session, access: Access) -> paths.Neighbours:
    """The per-query neighbour cache for `paths`, over this session's permitted edges."""
    return paths.Neighbours(_fetcher(session, access), _between(session, access))


def _strongest_by_person(rows: list[tuple[Any, ...]], adjacency: dict[int, dict[int, float]]) -> None:
    """Add (person, neighbour, strength) rows to `adjacency`, keeping the strongest edge per pair."""
    for person, neighbour, strength in rows:
        known = adjacency.get(person)
        if known is None:
            adjacency[person] = {neighbour: strength}
        elif strength > known.get(neighbour, -1.0):
            known[neighbour] = strength


def _between(session: Session, access: Access) -> paths.Between:
    """The bridge query for `paths`: permitted edges joining two sets of people, both stored directions."""
    permitted = _permitted(session, access)
    nothing_allowed = access.owners is not None and not access.owners and not access.include_unowned
    chunk = None if session.get_bind().dialect.name == "postgresql" else _SQLITE_CHUNK // 2

    def between(people: Sequence[int], others: Sequence[int]) -> Mapping[int, Mapping[int, float]]:
        adjacency: dict[int, dict[int, float]] = {}
        if nothing_allowed:
            return adjacency
        for part in _parts(people, chunk):
            for other_part in _parts(others, chunk):
                outgoing = select(_edges.from_person_id, _edges.to_person_id, _edges.strength).where(
                    among(session, _edges.from_person_id, part), among(session, _edges.to_person_id, other_part)
                )
                incoming = select(_edges.to_person_id, _edges.from_person_id, _edges.strength).where(
                    among(session, _edges.to_person_id, part), among(session, _edges.from_person_id, other_part)
                )
                if permitted is not None:
                    outgoing, incoming = outgoing.where(permitted), incoming.where(permitted)
                _strongest_by_person(_plain_rows(session, union_all(outgoing, incoming)), adjacency)
        return adjacency

    return between


def _parts(people: Sequence[int], size: int | None) -> list[Sequence[int]]:
    size = size or max(len(people), 1)
    return [people[start : start + size] for start in range(0, len(people), size)]


def _fetcher(session: Session, access: Access) -> paths.Fetch:
    """The neighbour function for `paths`: permitted edges at a frontier, both stored directions, one query."""
    permitted = _permitted(session, access)
    nothing_allowed = access.owners is not None and not access.owners and not access.include_unowned
    chunk = None if session.get_bind().dialect.name == "postgresql" else _SQLITE_CHUNK

    def fetch(people: Sequence[int]) -> Mapping[int, Mapping[int, float]]:
        adjacency: dict[int, dict[int, float]] = {}
        if nothing_allowed:
            return adjacency
        for part in _parts(people, chunk):
            outgoing = select(_edges.from_person_id, _edges.to_person_id, _edges.strength).where(
                among(session, _edges.from_person_id, part)
            )
            incoming = select(_edges.to_person_id, _edges.from_person_id, _edges.strength).where(
                among(session, _edges.to_person_id, part)
            )
            if permitted is not None:
                outgoing, incoming = outgoing.where(permitted), incoming.where(permitted)
            _strongest_by_person(_plain_rows(session, union_all(outgoing, incoming)), adjacency)
        return adjacency

    return fetch

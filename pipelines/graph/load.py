"""Bulk-loading social networks (SNAP edge lists) into the relational store, and writing test graphs.

`load_graph` is what `sixdeg load-graph` runs: one person per node with the identity `key:<node>`, one unowned
`connections` row per undirected pair (from the smaller person id), strength 0.5. It streams the edge list in
batches, one transaction per batch, so a run that dies half-way is finished by running it again: people are found
again by their `key:` identity and edges already present are skipped (ON CONFLICT DO NOTHING), so loading the same
file twice adds nothing. New rows go in with COPY on Postgres (through a temporary staging table for the edges,
so that the ON CONFLICT check and the reverse-orientation check happen inside Postgres).

Memory: the node → person map stays in memory for the whole load (O(nodes), about 100 bytes a node); the edge
list itself is streamed.
"""

from __future__ import annotations

import csv
import gzip
import re
import time
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, MetaData, Table, exists, insert, literal, null, select, text
from sqlalchemy.orm import Session

from pipelines.config import Config
from pipelines.db import among, analyze, bulk_insert, insert_ignoring_conflicts, unit_of_work
from pipelines.graph.port import Edge, PersonNode
from pipelines.models import Connection, Identity, IdentityKind, Person, User, utcnow

LOADED_STRENGTH = 0.5
LOADED_EVIDENCE = {"source": "load-graph"}
KEY_PREFIX = "key:"

_SEPARATORS = re.compile(r"[\s,;]+")
# Column names seen in edge-list headers: id_1/id_2 (MUSAE), source/target, from/to, src/dst, node1, FromNodeId...
_HEADER_FIELD = re.compile(
    r"(?i)^(id|node|source|target|from|to|src|dst|u|v)([ _-]?(\d+|id|node|nodeid|person|user))?$"
)
_CHUNK = 5_000  # values per IN (...) list on SQLite; Postgres takes one array parameter

_pairs = Table(
    "sixdeg_load_pairs",
    MetaData(),
    Column("from_person_id", BigInteger, nullable=False),
    Column("to_person_id", BigInteger, nullable=False),
)


# --- reading ----------------------------------------------------------------------------------------------------


def _open_text(path: str | Path) -> Any:
    """Open a text file, transparently gunzipping `.gz`; universal newlines (LF or CRLF)."""
    if str(path).endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8", newline=None)
    return open(path, encoding="utf-8", newline=None)


def read_edge_list(path: str | Path) -> Iterator[tuple[str, str]]:
    """Stream (node, node) pairs from a SNAP-style edge list.

    Lines starting with `#` or `%` are comments; fields are separated by spaces, tabs or commas (extra fields,
    such as weights, are ignored); LF or CRLF; `.gz` is read transparently. A first line that names its columns
    (`id_1,id_2`, `source target`, `FromNodeId ToNodeId`...) is a header and is skipped, as are self-loops and
    lines with a single field.
    """
    with _open_text(path) as lines:
        first = True
        for raw in lines:
            line = raw.strip()
            if not line or line[0] in "#%":
                continue
            fields = _SEPARATORS.split(line, maxsplit=2)
            if len(fields) < 2:
                first = False
                continue
            a, b = fields[0].strip('"'), fields[1].strip('"')
            if first:
                first = False
                if _HEADER_FIELD.match(a) and _HEADER_FIELD.match(b):
                    continue
            if a and b and a != b:
                yield a, b


def read_names(path: str | Path) -> dict[str, str]:
    """Node → display name from a CSV with a header: the column `name`, keyed by the column `id` (or the first
    column when there is no `id`), e.g. musae_git_target.csv (id,name,ml_target)."""
    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        columns = reader.fieldnames or []
        if "name" not in columns:
            raise ValueError(f"{path}: no 'name' column (columns: {', '.join(columns) or 'none'})")
        id_column = "id" if "id" in columns else columns[0]
        return {
            row[id_column].strip(): row["name"].strip()
            for row in reader
            if row.get(id_column) and row.get("name") is not None and row["name"].strip()
        }


# --- loading ----------------------------------------------------------------------------------------------------


def _batches(items: Iterable[tuple[str, str]], size: int) -> Iterator[list[tuple[str, str]]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def load_graph(
    config: Config,
    edges: Iterable[tuple[str, str]],
    names: dict[str, str] | None = None,
    *,
    batch_size: int = 50_000,
) -> dict[str, Any]:
    """Bulk-load an undirected social network; returns {"people": new, "edges": new, "seconds": elapsed}.

    One transaction per batch of `batch_size` edges (bounded transactions; a re-run resumes). Both orientations
    of a pair, repeated pairs and self-loops count once / not at all. Not meant to run twice at the same time on
    the same nodes (the second would fail on the `key:` identities' unique constraint).
    """
    started = time.perf_counter()
    names = names or {}
    person_of: dict[str, int] = {}
    new_people = new_edges = 0
    for batch in _batches(edges, batch_size):
        with unit_of_work(config) as session:
            keys = list(dict.fromkeys(node for pair in batch for node in pair if node not in person_of))
            if keys:
                person_of.update(_people_by_key(session, keys))
                missing = [key for key in keys if key not in person_of]
                if missing:
                    person_of.update(_create_people(session, missing, names))
                    new_people += len(missing)
            pairs: set[tuple[int, int]] = set()
            for a, b in batch:
                pa, pb = person_of[a], person_of[b]
                if pa != pb:
                    pairs.add((pa, pb) if pa < pb else (pb, pa))
            new_edges += _insert_edges(session, sorted(pairs))
    if new_edges:  # without it the SQL adapter's first GitHub queries had a p50 of 24 ms, not 16
        with unit_of_work(config) as session:
            analyze(session, "people", "identities", "connections")
    return {"people": new_people, "edges": new_edges, "seconds": round(time.perf_counter() - started, 3)}


def _people_by_key(session: Session, keys: Sequence[str]) -> dict[str, int]:
    """Node → person id for nodes that already have a `key:` identity (a merge moves identities to the survivor,
    so this is always a live person)."""
    found: dict[str, int] = {}
    values = [KEY_PREFIX + key for key in keys]
    size = len(values) if session.get_bind().dialect.name == "postgresql" else _CHUNK
    for start in range(0, len(values), size):
        rows = session.execute(
            select(Identity.value, Identity.person_id).where(
                Identity.kind == IdentityKind.key, among(session, Identity.value, values[start : start + size])
            )
        )
        found.update((value[len(KEY_PREFIX) :], person_id) for value, person_id in rows)
    return found


def _create_people(session: Session, keys: Sequence[str], names: dict[str, str]) -> dict[str, int]:
    """One person and one `key:` identity per node; returns node → new person id."""
    now = utcnow()
    rows = [
        {
            "display_name": (names.get(key) or f"node {key}")[:300],
            "version": 1,
            "created_at": now,
            "updated_at": now,
        }
        for key in keys
    ]
    if session.get_bind().dialect.name == "postgresql":
        ids = list(
            session.scalars(
                text("SELECT nextval(pg_get_serial_sequence('people', 'id')) FROM generate_series(1, :n)"),
                {"n": len(rows)},
            )
        )
        bulk_insert(session, Person.__table__, [{**row, "id": pid} for row, pid in zip(rows, ids, strict=True)])
    else:
        ids = list(session.scalars(insert(Person).returning(Person.id, sort_by_parameter_order=True), rows))
    bulk_insert(
        session,
        Identity.__table__,
        [
            {"person_id": pid, "kind": IdentityKind.key.value, "value": KEY_PREFIX + key, "created_at": now}
            for key, pid in zip(keys, ids, strict=True)
        ],
    )
    return dict(zip(keys, ids, strict=True))


def _stage(session: Session, pairs: Sequence[tuple[int, int]]) -> None:
    """Fill the staging table: COPY of plain tuples on Postgres (no per-row dicts: this is the hot loop),
    executemany on SQLite."""
    if session.get_bind().dialect.name != "postgresql":
        session.execute(insert(_pairs), [{"from_person_id": a, "to_person_id": b} for a, b in pairs])
        return
    cursor = session.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy("COPY sixdeg_load_pairs (from_person_id, to_person_id) FROM STDIN") as copy:
        for pair in pairs:
            copy.write_row(pair)


def _insert_edges(session: Session, pairs: Sequence[tuple[int, int]]) -> int:
    """Insert unowned edges (from < to) unless that pair is already joined in either orientation; returns how
    many were new. Staged in a temporary table (COPY on Postgres), then one INSERT ... SELECT ... ON CONFLICT."""
    if not pairs:
        return 0
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text(
                "CREATE TEMPORARY TABLE IF NOT EXISTS sixdeg_load_pairs "
                "(from_person_id bigint NOT NULL, to_person_id bigint NOT NULL) ON COMMIT DROP"
            )
        )
    else:
        session.execute(
            text(
                "CREATE TEMPORARY TABLE IF NOT EXISTS sixdeg_load_pairs "
                "(from_person_id INTEGER NOT NULL, to_person_id INTEGER NOT NULL)"
            )
        )
    session.execute(text("DELETE FROM sixdeg_load_pairs"))
    _stage(session, pairs)
    session.execute(text("ANALYZE sixdeg_load_pairs"))  # a temporary table has no statistics otherwise
    c = Connection.__table__.c
    now = utcnow()
    reverse_present = exists().where(
        c.from_person_id == _pairs.c.to_person_id, c.to_person_id == _pairs.c.from_person_id
    )
    rows = select(
        _pairs.c.from_person_id,
        _pairs.c.to_person_id,
        null(),
        literal(LOADED_STRENGTH),
        literal(LOADED_EVIDENCE, JSON),
        literal(now, c.first_seen.type),
        literal(now, c.last_seen.type),
    ).where(~reverse_present)
    statement = insert_ignoring_conflicts(session, Connection.__table__, ("from_person_id", "to_person_id"))
    result = session.execute(
        statement.from_select(
            ["from_person_id", "to_person_id", "owner_user_id", "strength", "evidence", "first_seen", "last_seen"],
            rows,
        ).execution_options(preserve_rowcount=True)
    )
    return result.rowcount  # type: ignore[attr-defined]


def rebuild_stores(config: Config) -> dict[str, Any]:
    """After a bulk load: refill Neo4j (when it is the graph store) and the search index from the database. The
    two run at once, in two threads: each reads Postgres and writes its own server, mostly waiting on it, so the
    slower one sets the time instead of the sum."""
    from concurrent.futures import ThreadPoolExecutor

    from pipelines.graph import stores
    from pipelines.search import stores as search_stores

    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="rebuild") as pool:
        graph = pool.submit(stores.rebuild, config) if config.graph_kind == "neo4j" else None
        search = pool.submit(search_stores.rebuild, config)
        counts: dict[str, Any] = {}
        if graph is not None:
            counts["graph"] = graph.result()
        counts["search"] = search.result()
    return counts


def key_to_person_ids(config: Config, keys: Iterable[str]) -> dict[str, int]:
    """Node (as in the edge list, without `key:`) → person id, for the nodes that have been loaded."""
    with unit_of_work(config) as session:
        return _people_by_key(session, list(dict.fromkeys(keys)))


# --- test graphs ------------------------------------------------------------------------------------------------


def _upsert(session: Session, table: Table, keys: tuple[str, ...], columns: Sequence[str]) -> Any:
    """INSERT ... ON CONFLICT (keys) DO UPDATE SET columns = the new values, on Postgres and SQLite."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    statement = dialect_insert(table)
    return statement.on_conflict_do_update(
        index_elements=list(keys), set_={name: statement.excluded[name] for name in columns}
    )


def _sync_sequence(session: Session, table: str) -> None:
    """After inserting explicit ids, move a Postgres sequence past them (SQLite takes max(id) + 1 by itself)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))


def _ensure_users(session: Session, user_ids: set[int]) -> None:
    """A minimal account for each edge owner that has none: email user<id>@example.invalid, and a person of its
    own (a new id, away from the test's people)."""
    existing = set(session.scalars(select(User.id).where(User.id.in_(sorted(user_ids)))))
    for user_id in sorted(user_ids - existing):
        person_id = session.scalar(
            insert(Person).values(display_name=f"user {user_id}", version=1).returning(Person.id)
        )
        session.execute(insert(User).values(id=user_id, email=f"user{user_id}@example.invalid", person_id=person_id))
    if user_ids - existing:
        _sync_sequence(session, "users")


def store_people_and_edges(config: Config, people: Sequence[PersonNode], edges: Sequence[Edge]) -> None:
    """Write people (with their given ids) and edges where the SQL adapter reads them, in one transaction.

    For the contract tests: people are upserted by id, edges by (from, to). An edge's owner needs a `users` row;
    owners that have none get a minimal one (`_ensure_users`).
    """
    with unit_of_work(config) as session:
        if people:
            session.execute(
                _upsert(session, Person.__table__, ("id",), ("display_name", "company", "title", "version")),
                [
                    {"id": p.id, "display_name": p.name, "company": p.company, "title": p.title, "version": p.version}
                    for p in people
                ],
            )
            _sync_sequence(session, "people")
        owners = {e.owner_user_id for e in edges if e.owner_user_id is not None}
        if owners:
            _ensure_users(session, owners)
        if edges:
            session.execute(
                _upsert(
                    session,
                    Connection.__table__,
                    ("from_person_id", "to_person_id"),
                    ("owner_user_id", "strength", "evidence", "connected_on", "version"),
                ),
                [
                    {
                        "from_person_id": e.from_id,
                        "to_person_id": e.to_id,
                        "owner_user_id": e.owner_user_id,
                        "strength": e.strength,
                        "evidence": e.evidence,
                        "connected_on": e.since,
                        "version": e.version,
                    }
                    for e in edges
                ],
            )

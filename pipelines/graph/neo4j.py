"""The Neo4j graph adapter: a projection of Postgres (DESIGN.md "Graph and paths", principles 1-3).

Model: `(:Person {id, name, company, title, version, degree})-[:KNOWS {owner, strength, since, evidence_json,
version}]->(:Person)`. `owner` is the owning user id or null (bulk-loaded edges); evidence is a JSON string because
Neo4j properties cannot be maps. One KNOWS edge per stored direction (from_id, to_id), as in `connections`.
`degree` is the person's KNOWS edge count, rewritten by every write that adds or removes their edges (and by
`rebuild`): the path search reads it to choose which side to expand, where counting a neighbour's edges on every
read doubled the cost of reading a hub's neighbours. It is only a hint (a concurrent write may leave it one off for
a moment); answers never depend on it.

Writes are batched `UNWIND ... MERGE` in managed write transactions and version-checked: a node or edge whose
stored version is higher than the incoming row's is left alone, so replaying a batch, or applying an older one
after a newer one, leaves the newer state (principle 3). Edges create their missing endpoints (by id only), so an
edge that arrives before its people is not lost.

Reads run in Cypher with the `Access` rule as a relationship predicate the planner applies during the search
(never a filter afterwards), and finish in Python with the ranking shared with the SQL adapter
(`pipelines.graph.paths.build_paths`, i.e. `Path.rank_key()`):

- `shortest_paths`: the shared best-first search of `pipelines.graph.paths` over this adapter's neighbour and
  bridge queries: the very algorithm the SQL adapter runs, so both adapters give the same answers. Cypher's own
  path search was tried first and measured slower in the tail: `allShortestPaths` ranked on the server answers
  in one round trip when at least `limit` shortest paths exist, but enumerating a hub's thousands of shortest
  paths took 40 to 90 ms (p99 on Enron through the adapter 57 to 66 ms against 44 to 53 for the shared search
  alone); an `ALL SHORTEST` over hop pairs for the paths of d + 1 hops took 100 to 500 ms.
- `best_paths_to_each`: one `ALL SHORTEST` search from the source to all targets at once.
- `hop_distances`, `degree_counts`: breadth-first layers, one query per layer, deduplicated on the server.
- `mutuals`: one pattern match.

Bounded work: every transaction carries a server-side timeout, and the driver's connection, acquisition and retry
times are bounded by `timeout` too, so no call hangs. Reads (what requests wait for) get `timeout` seconds; the
projection's batch writes get `write_timeout` (default 60 s): a batch of 5,000 removals took 0.7 s on a warm server
but over 5 s on a cold one with the rest of the stack starting beside it, and a worker can wait for that. Paths are
never longer than 6 hops. The `best_paths_to_each` enumeration stops after `path_budget` candidate paths (`LIMIT`
before any sort or aggregation, so the server never holds more); a search that hits the budget is not trusted and
goes to the shared search, whose own work bound (`paths.MAX_PATH_WORK`) makes it return fewer paths rather than
wrong ones. Every stateful `SHORTEST` pattern here has both ends bound or a bounded quantifier: on 5.26 an unbounded
single-source one (`SHORTEST 1 (s)-[:KNOWS]-{1,}(m)` on Enron) ran on after its termination, a core busy for over 20
minutes."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from neo4j import Driver, GraphDatabase, ManagedTransaction, unit_of_work

from pipelines.graph import paths
from pipelines.graph.port import MAX_HOPS, Access, Edge, Hop, Neighbourhood, Path, PersonNode

T = TypeVar("T")

#: Rows per write transaction.
BATCH_SIZE = 5_000
#: Server-side timeout (seconds) of one batch write: workers wait for it, requests never do.
WRITE_TIMEOUT = 60.0
#: Candidate paths the `best_paths_to_each` Cypher search may enumerate before it is abandoned for the shared search.
PATH_BUDGET = 20_000
#: Extra candidates fetched beyond `limit`, so that rounding differences between Cypher's and Python's
#: `round(product, 12)` can never push a true top-`limit` path out of the server's cut.
MARGIN = 8

_UPSERT_PEOPLE = """
UNWIND $rows AS row
MERGE (p:Person {id: row.id})
WITH p, row WHERE p.version IS NULL OR p.version <= row.version
SET p.name = row.name, p.company = row.company, p.title = row.title, p.version = row.version
"""

_UPSERT_EDGES = """
UNWIND $rows AS row
MERGE (a:Person {id: row.from_id})
MERGE (b:Person {id: row.to_id})
MERGE (a)-[r:KNOWS]->(b)
WITH r, row WHERE r.version IS NULL OR r.version <= row.version
SET r.owner = row.owner, r.strength = row.strength, r.since = row.since, r.evidence_json = row.evidence,
    r.version = row.version
"""

# Into a graph just emptied (`rebuild`): CREATE, not MERGE, for the edge. MERGE looks for an existing edge between
# the two people first, which on a hub means walking thousands of its edges for every new one.
_CREATE_EDGES = """
UNWIND $rows AS row
MERGE (a:Person {id: row.from_id})
MERGE (b:Person {id: row.to_id})
CREATE (a)-[:KNOWS {owner: row.owner, strength: row.strength, since: row.since, evidence_json: row.evidence,
                    version: row.version}]->(b)
"""

_REMOVE_PEOPLE = """
UNWIND $ids AS id
MATCH (p:Person {id: id})
DETACH DELETE p
"""

_REMOVE_EDGES = """
UNWIND $pairs AS pair
MATCH (:Person {id: pair[0]})-[r:KNOWS]->(:Person {id: pair[1]})
DELETE r
"""

# Edges first, then people, a batch per transaction: DETACH DELETE of a batch of hub people would pull all their
# edges into one transaction and exceed Neo4j's transaction memory on a real graph. One scan each, committing as
# it goes (`IN TRANSACTIONS`, in an implicit transaction), not a `LIMIT` query per batch that would scan past
# every record already deleted.
_CLEAR_EDGES = "MATCH ()-[r:KNOWS]->() CALL (r) { DELETE r } IN TRANSACTIONS OF $batch ROWS"
_CLEAR_PEOPLE = "MATCH (p:Person) CALL (p) { DETACH DELETE p } IN TRANSACTIONS OF $batch ROWS"

_EDGE_PAIRS_TOUCHING = """
UNWIND $ids AS id
MATCH (:Person {id: id})-[r:KNOWS]-()
WITH DISTINCT r
RETURN startNode(r).id AS from_id, endNode(r).id AS to_id
"""

# The stored edges between consecutive people of the `top` sequences (for the hops), as [from, to, strength,
# owner, since, evidence_json] lists. `{allowed}` is replaced by the access predicate on `r`.
_EDGES_OF_TOP = """
CALL (top) {
  UNWIND top AS people
  UNWIND range(0, size(people) - 2) AS i
  WITH DISTINCT CASE WHEN people[i] < people[i + 1] THEN [people[i], people[i + 1]]
                     ELSE [people[i + 1], people[i]] END AS pair
  MATCH (:Person {id: pair[0]})-[r:KNOWS]-(:Person {id: pair[1]})
  WHERE {allowed}
  RETURN collect([startNode(r).id, endNode(r).id, r.strength, r.owner, r.since, r.evidence_json]) AS edges
}
"""

_PRODUCT = "reduce(x = 1.0, r IN relationships(p) | x * r.strength)"

# Every shortest path from the source to each target (one search), at most $budget in all; the best $keep
# sequences per target.
_TO_EACH = (
    """
MATCH (s:Person {id: $source})
MATCH p = ALL SHORTEST (s)-[r:KNOWS WHERE {allowed}]-{{1,{max_hops}}}(t:Person)
WHERE t.id IN $targets
WITH p, t LIMIT $budget
WITH t, [n IN nodes(p) | n.id] AS people, """
    + _PRODUCT
    + """ AS product
WITH t, people, max(product) AS product, count(*) AS paths
ORDER BY round(product, 12) DESC, people
WITH t, collect(people)[..$keep] AS best, sum(paths) AS paths
WITH reduce(acc = [], b IN collect(best) | acc + b) AS top, sum(paths) AS paths
"""
    + _EDGES_OF_TOP
    + "RETURN top, paths, edges"
)

# The next BFS layer: permitted neighbours of the frontier not in the previous layer or the frontier itself
# (on an undirected graph nobody else can be adjacent to a layer).
_NEXT_LAYER = """
UNWIND $frontier AS id
MATCH (:Person {id: id})-[r:KNOWS]-(m:Person)
WHERE {allowed}
WITH DISTINCT m.id AS m
WHERE NOT m IN $recent
RETURN collect(m) AS layer
"""

# For the shared search: each person's permitted neighbours with the strengths of the edges to them, and the
# neighbours' edge counts (they steer which side the search works from): the stored `degree`, counted only for a
# node written before it existed. One record for the whole frontier: a record per person cost the driver more
# than the server's work (1,000 people with 10,000 edges: 46 ms as records, 27 ms as one).
_NEIGHBOURS = """
UNWIND $ids AS id
MATCH (:Person {id: id})-[r:KNOWS]-(m:Person)
WHERE {allowed}
WITH id, collect(m.id) AS neighbours, collect(r.strength) AS strengths,
     collect(CASE WHEN m.degree IS NULL THEN COUNT { (m)-[:KNOWS]-() } ELSE m.degree END) AS degrees
RETURN collect([id, neighbours, strengths, degrees]) AS rows
"""

# Rewrite the stored edge counts of these people (after their edges changed).
_RECOUNT = """
UNWIND $ids AS id
MATCH (p:Person {id: id})
SET p.degree = COUNT { (p)-[:KNOWS]-() }
"""

# Every person's edge count, a batch per transaction (after `rebuild` created the edges).
_RECOUNT_ALL = "MATCH (p:Person) CALL (p) { SET p.degree = COUNT { (p)-[:KNOWS]-() } } IN TRANSACTIONS OF $batch ROWS"

# The people adjacent to these (whose edge counts fall when these are removed).
_NEIGHBOUR_IDS_OF = """
UNWIND $ids AS id
MATCH (:Person {id: id})-[:KNOWS]-(m:Person)
RETURN collect(DISTINCT m.id) AS ids
"""

# For the shared search's bridge: the permitted edges joining people to others (`paths.Between`), in one record.
_BETWEEN = """
UNWIND $ids AS id
MATCH (:Person {id: id})-[r:KNOWS]-(m:Person)
WHERE m.id IN $others AND {allowed}
WITH id, collect(m.id) AS neighbours, collect(r.strength) AS strengths
RETURN collect([id, neighbours, strengths]) AS rows
"""

_HOPS = (
    """
WITH $top AS top
"""
    + _EDGES_OF_TOP
    + "RETURN edges"
)

_MUTUALS = """
MATCH (a:Person {id: $a})-[r:KNOWS]-(m:Person)-[r2:KNOWS]-(b:Person {id: $b})
WHERE m <> a AND m <> b AND {allowed} AND {allowed2}
RETURN collect(DISTINCT m.id) AS ids
"""

_NEIGHBOUR_IDS = """
MATCH (a:Person {id: $a})-[r:KNOWS]-(m:Person)
WHERE m <> a AND {allowed}
RETURN collect(DISTINCT m.id) AS ids
"""


def _allowed(access: Access, var: str = "r") -> str:
    """The Cypher form of `Access.allows` on relationship `var` (parameters from `_access_params`)."""
    if access.owners is None:
        return "true"
    return f"({var}.owner IN $owners OR ($unowned AND {var}.owner IS NULL))"


def _access_params(access: Access) -> dict[str, Any]:
    if access.owners is None:
        return {}
    return {"owners": sorted(access.owners), "unowned": access.include_unowned}


def _cypher(template: str, access: Access, **formats: int) -> str:
    """Fill a query template: the access predicate (on `r`, and on `r2` where present) and integer literals."""
    text = template.replace("{allowed}", _allowed(access)).replace("{allowed2}", _allowed(access, "r2"))
    for name, value in formats.items():
        text = text.replace("{" + name + "}", str(int(value)))
    return text.replace("{{", "{").replace("}}", "}")


def _check_max_hops(max_hops: int) -> None:
    if max_hops > MAX_HOPS:
        raise ValueError(f"max_hops is at most {MAX_HOPS} (got {max_hops})")


def _chunks(rows: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _edge_rows(edges: Sequence[Edge]) -> list[dict[str, Any]]:
    """Edges as Cypher parameters, sorted by (from_id, to_id): a stable lock order for concurrent batches."""
    return [
        {
            "from_id": e.from_id,
            "to_id": e.to_id,
            "owner": e.owner_user_id,
            "strength": float(e.strength),
            "since": e.since,
            "evidence": json.dumps(e.evidence, sort_keys=True, default=str),
            "version": e.version,
        }
        for e in sorted(edges, key=lambda e: (e.from_id, e.to_id))
    ]


def _endpoints_of_rows(rows: Sequence[dict[str, Any]]) -> list[int]:
    return [row["from_id"] for row in rows] + [row["to_id"] for row in rows]


def _hop(row: Sequence[Any]) -> Hop:
    """A stored edge (as `_EDGES_OF_TOP` lists it) as a hop in its stored direction."""
    from_id, to_id, strength, owner, since, evidence = row
    return Hop(
        from_id=from_id,
        to_id=to_id,
        strength=float(strength),
        owner_user_id=owner,
        since=since.to_native() if since is not None else None,
        evidence=json.loads(evidence) if evidence else {},
    )


def _paths(sequences: Sequence[Sequence[int]], edges: Sequence[Sequence[Any]]) -> list[Path]:
    """Paths for people sequences with their strongest permitted edges, in rank order (shared with SQL)."""
    return paths.build_paths(sequences, [_hop(row) for row in edges])


class Neo4jGraph:
    """The graph port over Neo4j (Bolt). One driver per instance (it pools connections); `close()` when done."""

    name = "neo4j"

    def __init__(
        self, url: str, *, database: str = "neo4j", timeout: float = 5.0, write_timeout: float = WRITE_TIMEOUT
    ) -> None:
        self._database = database
        self._timeout = timeout
        self._write_timeout = write_timeout
        self.path_budget = PATH_BUDGET
        self._driver: Driver = GraphDatabase.driver(
            url,
            auth=None,
            connection_timeout=timeout,
            connection_acquisition_timeout=timeout,
            connection_write_timeout=timeout,
            max_transaction_retry_time=timeout,
            notifications_min_severity="OFF",  # e.g. "property `owner` does not exist" before any owned edge
        )

    def close(self) -> None:
        self._driver.close()

    # --- plumbing -------------------------------------------------------------------------------------------------

    def _read(self, work: Callable[[ManagedTransaction], T]) -> T:
        """Run `work` in a managed read transaction with the server-side timeout."""
        with self._driver.session(database=self._database) as session:
            return session.execute_read(unit_of_work(timeout=self._timeout)(work))

    def _write(self, work: Callable[[ManagedTransaction], T]) -> T:
        """Run `work` in a managed write transaction with the write timeout (retried if transient)."""
        with self._driver.session(database=self._database) as session:
            return session.execute_write(unit_of_work(timeout=self._write_timeout)(work))

    def _write_batches(
        self, query: str, key: str, rows: Sequence[Any], recount: Callable[[Sequence[Any]], list[int]] | None = None
    ) -> None:
        """Write `rows` a batch per transaction; with `recount`, also rewrite (in the same transaction) the
        stored edge counts of the people it names for the batch."""
        for chunk in _chunks(rows, BATCH_SIZE):
            params = {key: list(chunk)}
            ids = sorted(set(recount(chunk))) if recount else []

            def work(tx: ManagedTransaction, params: dict[str, Any] = params, ids: list[int] = ids) -> None:
                tx.run(query, params).consume()
                if ids:
                    tx.run(_RECOUNT, ids=ids).consume()

            self._write(work)

    # --- schema and writes ----------------------------------------------------------------------------------------

    def ping(self) -> None:
        """Raise unless the server answers `RETURN 1` within the timeout."""
        one = self._read(lambda tx: tx.run("RETURN 1 AS one").single(strict=True)["one"])
        if one != 1:
            raise RuntimeError("RETURN 1 did not return 1")

    def ensure_schema(self) -> None:
        """The uniqueness constraint on :Person(id); its index serves every lookup and MERGE (idempotent)."""
        self._write(
            lambda tx: tx.run(
                "CREATE CONSTRAINT person_id IF NOT EXISTS FOR (p:Person) REQUIRE p.id IS UNIQUE"
            ).consume()
        )
        self._read(lambda tx: tx.run("CALL db.awaitIndexes($seconds)", seconds=max(1, int(self._timeout))).consume())

    def upsert_people(self, people: Sequence[PersonNode]) -> None:
        """Create or update nodes; a node with a higher stored version is left alone."""
        rows = [
            {"id": p.id, "name": p.name, "company": p.company, "title": p.title, "version": p.version}
            for p in sorted(people, key=lambda p: p.id)  # a stable lock order for concurrent batches
        ]
        self._write_batches(_UPSERT_PEOPLE, "rows", rows)

    def upsert_edges(self, edges: Sequence[Edge]) -> None:
        """Create or update edges keyed by (from_id, to_id), creating missing endpoints by id; an edge with a
        higher stored version is left alone."""
        self._write_batches(_UPSERT_EDGES, "rows", _edge_rows(edges), _endpoints_of_rows)

    def create_edges(self, edges: Sequence[Edge]) -> None:
        """Add edges known to be absent from the graph (after `clear()`, each (from_id, to_id) once): no check
        for an existing edge. Missing endpoints are created by id, as in `upsert_edges`. Edge counts are left to
        `recount_degrees`, once every edge is in (counting per batch would recount a hub in every batch)."""
        self._write_batches(_CREATE_EDGES, "rows", _edge_rows(edges))

    def recount_degrees(self) -> None:
        """Rewrite every person's stored edge count, a batch per transaction (after `create_edges`)."""
        with self._driver.session(database=self._database) as session:
            session.run(_RECOUNT_ALL, batch=BATCH_SIZE).consume()

    def remove_people(self, person_ids: Sequence[int]) -> None:
        """Remove nodes and their edges (and rewrite their neighbours' edge counts)."""
        ids = sorted(set(person_ids))
        for chunk in _chunks(ids, BATCH_SIZE):
            gone = list(chunk)

            def work(tx: ManagedTransaction, gone: list[int] = gone) -> None:
                neighbours = set(tx.run(_NEIGHBOUR_IDS_OF, ids=gone).single(strict=True)["ids"]) - set(ids)
                tx.run(_REMOVE_PEOPLE, ids=gone).consume()
                if neighbours:
                    tx.run(_RECOUNT, ids=sorted(neighbours)).consume()

            self._write(work)

    def remove_edges(self, pairs: Sequence[tuple[int, int]]) -> None:
        """Remove edges by (from_id, to_id) as stored."""
        self._write_batches(
            _REMOVE_EDGES, "pairs", [list(p) for p in sorted(set(pairs))], lambda chunk: [i for p in chunk for i in p]
        )

    def edge_pairs_touching(self, person_ids: Sequence[int]) -> list[tuple[int, int]]:
        """(from_id, to_id) of every stored edge with an endpoint among `person_ids` (for the projection's
        removal of edges Postgres no longer has)."""
        found: set[tuple[int, int]] = set()
        for chunk in _chunks(sorted(set(person_ids)), BATCH_SIZE):
            ids = list(chunk)
            rows = self._read(lambda tx, ids=ids: [tuple(r) for r in tx.run(_EDGE_PAIRS_TOUCHING, ids=ids)])
            found.update(rows)
        return sorted(found)

    def person_versions(self) -> dict[int, int]:
        """Every node's person id and version (for the consistency sweep)."""
        return self._read(
            lambda tx: {
                r["id"]: r["version"] for r in tx.run("MATCH (p:Person) RETURN p.id AS id, p.version AS version")
            }
        )

    def clear(self) -> None:
        """Delete every person and edge, a batch per transaction (for `sixdeg rebuild graph`). No overall
        timeout: on a big graph this takes longer than any one query may; each batch commits on its own."""
        with self._driver.session(database=self._database) as session:
            for query in (_CLEAR_EDGES, _CLEAR_PEOPLE):
                session.run(query, batch=BATCH_SIZE).consume()

    # --- queries --------------------------------------------------------------------------------------------------

    def shortest_paths(
        self, source: int, target: int, access: Access, *, max_hops: int = MAX_HOPS, limit: int = 5
    ) -> list[Path]:
        _check_max_hops(max_hops)
        if source == target or limit <= 0 or max_hops < 1:
            return []
        return self._read(lambda tx: self._shared_k_best(tx, source, target, access, max_hops=max_hops, limit=limit))

    def _shared_k_best(
        self, tx: ManagedTransaction, source: int, target: int, access: Access, *, max_hops: int, limit: int
    ) -> list[Path]:
        """The shared best-first k-paths search (`paths.k_best_paths`) over this adapter's neighbour query."""
        nb = self._neighbours(tx, access)
        sequences = paths.k_best_paths(nb, source, target, max_hops=max_hops, limit=limit)
        return self._with_hops(tx, sequences, access)

    def _with_hops(self, tx: ManagedTransaction, sequences: Sequence[Sequence[int]], access: Access) -> list[Path]:
        if not sequences:
            return []
        query = _cypher(_HOPS, access)
        edges = tx.run(query, top=[list(s) for s in sequences], **_access_params(access)).single(strict=True)["edges"]
        return _paths(sequences, edges)

    def _neighbours(self, tx: ManagedTransaction, access: Access) -> paths.Neighbours:
        """The shared search's per-query neighbour cache over this transaction: one query per call of either
        `fetch` (people → {person: {neighbour: strongest permitted strength}}, noting the neighbours' edge
        counts) or `between` (the edges joining two sets, walked from the first, which `paths` makes the
        cheaper)."""
        neighbours_query, between_query = _cypher(_NEIGHBOURS, access), _cypher(_BETWEEN, access)
        params = _access_params(access)
        degrees: dict[int, int] = {}

        def adjacency_of(rows: Iterable[Sequence[Any]]) -> dict[int, dict[int, float]]:
            adjacency: dict[int, dict[int, float]] = {}
            for person, neighbours, strengths, *counts in rows:
                known = adjacency.setdefault(person, {})
                for neighbour, strength in zip(neighbours, strengths, strict=True):
                    if strength > known.get(neighbour, -1.0):
                        known[neighbour] = strength
                if counts:
                    degrees.update(zip(neighbours, counts[0], strict=True))
            return adjacency

        def fetch(people: Sequence[int]) -> Mapping[int, Mapping[int, float]]:
            return adjacency_of(tx.run(neighbours_query, ids=list(people), **params).single(strict=True)[0])

        def between(people: Sequence[int], others: Sequence[int]) -> Mapping[int, Mapping[int, float]]:
            return adjacency_of(
                tx.run(between_query, ids=list(people), others=list(others), **params).single(strict=True)[0]
            )

        return paths.Neighbours(fetch, between, degrees)

    def hop_distances(self, source: int, access: Access, *, max_hops: int | None = None) -> dict[int, int]:
        return self._read(lambda tx: self._layers(tx, source, access, max_hops))

    def _layers(self, tx: ManagedTransaction, source: int, access: Access, max_hops: int | None) -> dict[int, int]:
        """Breadth-first search, one query per layer: {person: hops} within `max_hops` (None: no limit)."""
        query = _cypher(_NEXT_LAYER, access)
        params = _access_params(access)
        distances = {source: 0}
        previous: list[int] = []
        frontier = [source]
        depth = 0
        while frontier and (max_hops is None or depth < max_hops):
            depth += 1
            layer = tx.run(query, frontier=frontier, recent=previous + frontier, **params).single(strict=True)[0]
            layer = [p for p in layer if p not in distances]  # a self-loop's person, or a stale read
            for person in layer:
                distances[person] = depth
            previous, frontier = frontier, layer
        return distances

    def degree_counts(self, source: int, access: Access, *, max_hops: int = 3) -> dict[int, int]:
        counts = dict.fromkeys(range(1, max_hops + 1), 0)
        for person, depth in self.hop_distances(source, access, max_hops=max_hops).items():
            if person != source:
                counts[depth] += 1
        return counts

    def mutuals(self, a: int, b: int, access: Access) -> list[int]:
        params = {"a": a, "b": b, **_access_params(access)}
        query = _cypher(_NEIGHBOUR_IDS if a == b else _MUTUALS, access)
        ids = self._read(lambda tx: tx.run(query, params).single(strict=True)["ids"])
        return sorted(set(ids) - {a, b})

    def neighbourhood(self, source: int, access: Access, *, max_hops: int = 2, limit: int = 2000) -> Neighbourhood:
        return self._read(lambda tx: paths.neighbourhood(self._neighbours(tx, access), source, max_hops, limit))

    def best_paths_to_each(
        self, source: int, targets: Sequence[int], access: Access, *, max_hops: int = 3, limit: int = 20
    ) -> list[Path]:
        _check_max_hops(max_hops)
        wanted = sorted(set(targets) - {source})
        if not wanted or limit <= 0 or max_hops < 1:
            return []
        params = {"source": source, "targets": wanted, "budget": self.path_budget, "keep": 1 + MARGIN}
        query = _cypher(_TO_EACH, access, max_hops=max_hops)

        def work(tx: ManagedTransaction) -> list[Path]:
            row = tx.run(query, params, **_access_params(access)).single()
            if row is not None and row["paths"] < self.path_budget:
                best: dict[int, Path] = {}
                for path in _paths(row["top"], row["edges"]):  # rank order: the first per target is its best
                    best.setdefault(path.people[-1], path)
                return sorted(best.values(), key=Path.rank_key)[:limit]
            nb = self._neighbours(tx, access)
            sequences = paths.best_paths_to_each(nb, source, wanted, max_hops=max_hops, limit=limit)
            return self._with_hops(tx, sequences, access)

        return self._read(work)

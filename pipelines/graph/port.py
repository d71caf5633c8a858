"""The graph port: who knows whom, and the queries on it. Two adapters answer identically: SQL (over the
`connections` table, the embedded default) and Neo4j (a projection of Postgres).

Edges are directed in storage (owner's person → person they list) and traversed in both directions: a
relationship is mutual in life even when only one side listed it. Which edges a query may use is decided by
`Access`: an operator sees every edge; a user sees their own edges, those of owners who share (`network`), and
unowned edges (bulk-loaded by `sixdeg load-graph`).

Ranking: paths are ordered by hop count (fewest first), then by the product of their hops' strengths (highest
first), then by the sequence of person ids (lowest first), so that every adapter returns the same order. Between
two consecutive people the strongest permitted edge is the hop.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

MAX_HOPS = 6


@dataclass(frozen=True)
class Access:
    """Which edges a query may traverse. `owners=None` means every edge (the operator's view)."""

    owners: frozenset[int] | None = None
    include_unowned: bool = True

    def allows(self, owner_user_id: int | None) -> bool:
        if self.owners is None:
            return True
        if owner_user_id is None:
            return self.include_unowned
        return owner_user_id in self.owners


EVERYTHING = Access()


@dataclass(frozen=True)
class PersonNode:
    """What the graph keeps of a person: only what may be shown to others (principle 8)."""

    id: int
    name: str
    company: str | None = None
    title: str | None = None
    version: int = 1


@dataclass(frozen=True)
class Edge:
    """A KNOWS edge as stored: from the owner's person to a person they know."""

    from_id: int
    to_id: int
    owner_user_id: int | None
    strength: float
    since: date | None = None
    evidence: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    version: int = 1


@dataclass(frozen=True)
class Hop:
    """One step of a path, with the edge that makes it (its direction as stored may be either way)."""

    from_id: int
    to_id: int
    strength: float
    owner_user_id: int | None
    since: date | None = None
    evidence: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class Path:
    people: tuple[int, ...]
    hops: tuple[Hop, ...]

    @property
    def hop_count(self) -> int:
        return len(self.hops)

    @property
    def strength(self) -> float:
        return math.prod(h.strength for h in self.hops) if self.hops else 1.0

    def rank_key(self) -> tuple[int, float, tuple[int, ...]]:
        """The order every adapter returns paths in."""
        return (self.hop_count, -round(self.strength, 12), self.people)


@dataclass(frozen=True)
class Neighbourhood:
    """The people around someone and the connections among them, for drawing (the ego network)."""

    distances: dict[int, int]
    edges: list[tuple[int, int, float]]
    truncated: bool


class GraphStore(Protocol):
    """What every graph adapter provides. Ids are Postgres person ids."""

    name: str

    def ping(self) -> None: ...

    def ensure_schema(self) -> None:
        """Create constraints and indexes (idempotent); a no-op where the database already has them."""

    def upsert_people(self, people: Sequence[PersonNode]) -> None:
        """Create or update nodes; a node with a higher version than the given one is left alone."""

    def upsert_edges(self, edges: Sequence[Edge]) -> None:
        """Create or update edges keyed by (from_id, to_id); an edge with a higher version is left alone."""

    def remove_people(self, person_ids: Sequence[int]) -> None:
        """Remove nodes and their edges."""

    def remove_edges(self, pairs: Sequence[tuple[int, int]]) -> None:
        """Remove edges by (from_id, to_id)."""

    def shortest_paths(
        self, source: int, target: int, access: Access, *, max_hops: int = MAX_HOPS, limit: int = 5
    ) -> list[Path]:
        """Up to `limit` best simple paths from source to target with at most `max_hops` hops, in rank order;
        [] when the target is unreachable within `max_hops` (or source == target)."""

    def hop_distances(self, source: int, access: Access, *, max_hops: int | None = None) -> dict[int, int]:
        """Hop count from source to every reachable person (source itself at 0)."""

    def mutuals(self, a: int, b: int, access: Access) -> list[int]:
        """People adjacent to both a and b, sorted by id."""

    def degree_counts(self, source: int, access: Access, *, max_hops: int = 3) -> dict[int, int]:
        """How many people are at exactly 1, 2, ... `max_hops` hops."""

    def neighbourhood(self, source: int, access: Access, *, max_hops: int = 2, limit: int = 2000) -> Neighbourhood:
        """Up to `limit` people within `max_hops` of source (nearest first, then by their strongest tie to a
        nearer person, then by id) and every permitted edge among them (strongest per pair, smaller id first)."""

    def best_paths_to_each(
        self, source: int, targets: Sequence[int], access: Access, *, max_hops: int = 3, limit: int = 20
    ) -> list[Path]:
        """For "who can introduce me to someone at company X": the best path to each reachable target, the
        `limit` best of those in rank order."""

"""One contract for every graph adapter (SQL on SQLite and Postgres, Neo4j): paths, ranking, access, distances.

Graphs are small and hand-made, with the expected answers worked out by hand; a seeded random graph is checked
against a brute-force enumeration of every simple path. Every returned hop must be a real, permitted edge: the
strongest permitted one between its two people.
"""

from __future__ import annotations

import math
import random
from datetime import date
from itertools import pairwise

import pytest

from pipelines.graph.port import EVERYTHING, Access, Edge, Path, PersonNode

U1, U2 = 1, 2  # edge owners (user ids)


def e(a: int, b: int, strength: float = 0.5, owner: int | None = None, **extra) -> Edge:
    return Edge(from_id=a, to_id=b, owner_user_id=owner, strength=strength, **extra)


def nodes(*ids: int) -> list[PersonNode]:
    return [PersonNode(id=i, name=f"Person {i}", company="Acme" if i % 2 else None) for i in ids]


def people_of(paths: list[Path]) -> list[tuple[int, ...]]:
    return [p.people for p in paths]


def check_hops(paths: list[Path], edges: list[Edge], access: Access) -> None:
    """Each hop joins consecutive people, points along the path, and is the strongest permitted stored edge."""
    for path in paths:
        assert len(path.hops) == len(path.people) - 1
        assert len(set(path.people)) == len(path.people), f"not a simple path: {path.people}"
        for (a, b), hop in zip(pairwise(path.people), path.hops, strict=True):
            assert (hop.from_id, hop.to_id) == (a, b)
            stored = [x for x in edges if {x.from_id, x.to_id} == {a, b} and access.allows(x.owner_user_id)]
            assert stored, f"hop {a}->{b} is not a permitted edge"
            best = max(x.strength for x in stored)
            assert hop.strength == best
            assert hop.owner_user_id in {x.owner_user_id for x in stored if x.strength == best}
        assert path.strength == pytest.approx(math.prod(h.strength for h in path.hops))


# --- a diamond with a detour ------------------------------------------------------------------------------------
#
#   1 -0.9- 2 -0.9- 4        (1,2,4)   2 hops, 0.81
#   1 -0.5- 3 -0.9- 4        (1,3,4)   2 hops, 0.45
#   1 -1.0- 5 -1.0- 6 -1.0- 4  (1,5,6,4) 3 hops, 1.0

DIAMOND = [e(1, 2, 0.9), e(4, 2, 0.9), e(1, 3, 0.5), e(3, 4, 0.9), e(5, 1, 1.0), e(5, 6, 1.0), e(6, 4, 1.0)]


@pytest.fixture
def diamond(graph):
    graph.load(nodes(1, 2, 3, 4, 5, 6, 30), DIAMOND)
    return graph.store


def test_paths_rank_by_hops_then_strength(diamond):
    paths = diamond.shortest_paths(1, 4, EVERYTHING)
    assert people_of(paths) == [(1, 2, 4), (1, 3, 4), (1, 5, 6, 4)]
    assert [p.hop_count for p in paths] == [2, 2, 3]
    assert [round(p.strength, 6) for p in paths] == [0.81, 0.45, 1.0]
    check_hops(paths, DIAMOND, EVERYTHING)


def test_only_simple_paths_are_returned(diamond):
    # Walks that revisit someone (1,2,1,3,4...) would fill up a large limit; only the 3 simple paths exist.
    assert len(diamond.shortest_paths(1, 4, EVERYTHING, limit=50)) == 3


def test_limit_and_max_hops(diamond):
    assert people_of(diamond.shortest_paths(1, 4, EVERYTHING, limit=1)) == [(1, 2, 4)]
    assert people_of(diamond.shortest_paths(1, 4, EVERYTHING, limit=2)) == [(1, 2, 4), (1, 3, 4)]
    assert people_of(diamond.shortest_paths(1, 4, EVERYTHING, max_hops=2)) == [(1, 2, 4), (1, 3, 4)]
    assert diamond.shortest_paths(1, 4, EVERYTHING, max_hops=1) == []
    assert people_of(diamond.shortest_paths(1, 6, EVERYTHING, max_hops=2)) == [(1, 5, 6)]


def test_paths_are_traversed_against_stored_direction(diamond):
    # 4->2, 5->1 and 6->4 are stored the other way round; the reverse query mirrors the forward one.
    paths = diamond.shortest_paths(4, 1, EVERYTHING)
    assert people_of(paths) == [(4, 2, 1), (4, 3, 1), (4, 6, 5, 1)]
    check_hops(paths, DIAMOND, EVERYTHING)


def test_unreachable_and_same_person(diamond):
    assert diamond.shortest_paths(1, 30, EVERYTHING) == []  # 30 has no edges
    assert diamond.shortest_paths(1, 1, EVERYTHING) == []


def test_hop_distances(diamond):
    assert diamond.hop_distances(1, EVERYTHING) == {1: 0, 2: 1, 3: 1, 5: 1, 4: 2, 6: 2}
    assert diamond.hop_distances(1, EVERYTHING, max_hops=1) == {1: 0, 2: 1, 3: 1, 5: 1}
    assert diamond.hop_distances(30, EVERYTHING) == {30: 0}


def test_degree_counts(diamond):
    assert diamond.degree_counts(1, EVERYTHING) == {1: 3, 2: 2, 3: 0}
    assert diamond.degree_counts(3, EVERYTHING, max_hops=2) == {1: 2, 2: 3}
    assert diamond.degree_counts(30, EVERYTHING, max_hops=2) == {1: 0, 2: 0}


def test_mutuals(diamond):
    assert diamond.mutuals(1, 4, EVERYTHING) == [2, 3]
    assert diamond.mutuals(2, 3, EVERYTHING) == [1, 4]
    assert diamond.mutuals(1, 6, EVERYTHING) == [5]
    assert diamond.mutuals(1, 30, EVERYTHING) == []


def test_neighbourhood(diamond):
    near = diamond.neighbourhood(1, EVERYTHING, max_hops=1)
    assert near.distances == {1: 0, 2: 1, 3: 1, 5: 1}
    assert near.edges == [(1, 2, 0.9), (1, 3, 0.5), (1, 5, 1.0)]
    assert not near.truncated
    two = diamond.neighbourhood(1, EVERYTHING, max_hops=2)
    assert two.distances == {1: 0, 2: 1, 3: 1, 5: 1, 4: 2, 6: 2}
    assert two.edges == [(1, 2, 0.9), (1, 3, 0.5), (1, 5, 1.0), (2, 4, 0.9), (3, 4, 0.9), (4, 6, 1.0), (5, 6, 1.0)]
    assert diamond.neighbourhood(30, EVERYTHING).distances == {30: 0}
    assert diamond.neighbourhood(30, EVERYTHING).edges == []


def test_neighbourhood_keeps_the_strongest_ties_when_cut(diamond):
    cut = diamond.neighbourhood(1, EVERYTHING, max_hops=2, limit=3)
    # Of 1's neighbours 5 (1.0) and 2 (0.9) are kept, 3 (0.5) is not; the next layer never starts.
    assert cut.distances == {1: 0, 5: 1, 2: 1}
    assert cut.edges == [(1, 2, 0.9), (1, 5, 1.0)]
    assert cut.truncated
    assert not diamond.neighbourhood(1, EVERYTHING, max_hops=2, limit=6).truncated


def test_neighbourhood_uses_only_permitted_edges(graph):
    graph.load(nodes(1, 2, 3, 4), [e(1, 2, 0.7, owner=U1), e(2, 3, 0.6, owner=U2), e(1, 4, 0.4, owner=U2)])
    mine = graph.store.neighbourhood(1, Access(owners=frozenset({U1}), include_unowned=False))
    assert mine.distances == {1: 0, 2: 1}
    assert mine.edges == [(1, 2, 0.7)]


def test_best_paths_to_each(diamond):
    paths = diamond.best_paths_to_each(1, [4, 6, 3, 30, 1], EVERYTHING)
    # 3: one hop; then two hops by strength: 6 via 5 (1.0) before 4 via 2 (0.81). 30 is unreachable, 1 is the asker.
    assert people_of(paths) == [(1, 3), (1, 5, 6), (1, 2, 4)]
    check_hops(paths, DIAMOND, EVERYTHING)
    assert people_of(diamond.best_paths_to_each(1, [4, 6, 3], EVERYTHING, limit=2)) == [(1, 3), (1, 5, 6)]
    assert people_of(diamond.best_paths_to_each(1, [4, 6, 3], EVERYTHING, max_hops=1)) == [(1, 3)]
    assert diamond.best_paths_to_each(1, [30], EVERYTHING) == []


# --- ties -------------------------------------------------------------------------------------------------------


def test_ties_go_to_the_lowest_id_sequence(graph):
    edges = [e(1, 4), e(4, 9), e(9, 3), e(1, 3), e(2, 1), e(2, 9), e(1, 5, 0.8), e(5, 9, 0.5), e(9, 6, 0.8)]
    edges += [e(1, 6, 0.5)]
    graph.load(nodes(1, 2, 3, 4, 5, 6, 9), edges)
    paths = graph.store.shortest_paths(1, 9, EVERYTHING, limit=10)
    # 0.8*0.5 and 0.5*0.8 are the same product: 5 and 6 tie on strength, then order by id with the 0.5*0.5 ones after.
    assert people_of(paths) == [(1, 5, 9), (1, 6, 9), (1, 2, 9), (1, 3, 9), (1, 4, 9)]
    check_hops(paths, edges, EVERYTHING)


def test_zero_strength_ties_prefer_lowest_ids_over_stronger_prefixes(graph):
    # Both ways to 10 end with a zero-strength hop to 20, so both paths have product 0: the id order decides,
    # although (1,5,10) is the stronger way to reach 10.
    edges = [e(1, 2, 0.1), e(1, 5, 0.9), e(2, 10, 1.0), e(5, 10, 1.0), e(10, 20, 0.0)]
    graph.load(nodes(1, 2, 5, 10, 20), edges)
    store = graph.store
    assert people_of(store.shortest_paths(1, 20, EVERYTHING)) == [(1, 2, 10, 20), (1, 5, 10, 20)]
    assert people_of(store.best_paths_to_each(1, [20], EVERYTHING)) == [(1, 2, 10, 20)]
    assert people_of(store.best_paths_to_each(1, [10], EVERYTHING)) == [(1, 5, 10)]
    assert people_of(store.best_paths_to_each(1, [10, 20], EVERYTHING)) == [(1, 5, 10), (1, 2, 10, 20)]


# --- long chains and components ---------------------------------------------------------------------------------


def test_max_hops_cut_off_on_a_chain(graph):
    edges = [e(i, i + 1) for i in range(1, 8)] + [e(20, 21)]
    graph.load(nodes(*range(1, 9), 20, 21), edges)
    store = graph.store
    assert store.shortest_paths(1, 8, EVERYTHING) == []  # 7 hops > 6
    assert people_of(store.shortest_paths(1, 7, EVERYTHING)) == [(1, 2, 3, 4, 5, 6, 7)]
    assert store.shortest_paths(1, 7, EVERYTHING, max_hops=5) == []
    assert store.shortest_paths(1, 20, EVERYTHING) == []
    assert store.hop_distances(1, EVERYTHING) == {i: i - 1 for i in range(1, 9)}
    assert store.hop_distances(1, EVERYTHING, max_hops=3) == {1: 0, 2: 1, 3: 2, 4: 3}
    assert store.degree_counts(1, EVERYTHING, max_hops=4) == {1: 1, 2: 1, 3: 1, 4: 1}
    assert people_of(store.best_paths_to_each(1, [8, 4, 21], EVERYTHING, max_hops=6)) == [(1, 2, 3, 4)]


# --- access -----------------------------------------------------------------------------------------------------


def test_the_strongest_permitted_edge_is_the_hop(graph):
    edges = [e(1, 2, 0.3, U1), e(2, 1, 0.9, U2), e(2, 3, 0.5)]
    graph.load(nodes(1, 2, 3), edges)
    store = graph.store
    for access, strength, owner in [
        (Access(frozenset({U1})), 0.3, U1),
        (Access(frozenset({U1, U2})), 0.9, U2),
        (EVERYTHING, 0.9, U2),
    ]:
        paths = store.shortest_paths(1, 3, access)
        assert people_of(paths) == [(1, 2, 3)]
        assert (paths[0].hops[0].strength, paths[0].hops[0].owner_user_id) == (strength, owner)
        assert (paths[0].hops[0].from_id, paths[0].hops[0].to_id) == (1, 2)
        check_hops(paths, edges, access)
    assert store.shortest_paths(1, 3, Access(frozenset({U2}), include_unowned=False)) == []  # 2-3 is unowned
    assert store.shortest_paths(1, 3, Access(frozenset())) == []  # 1-2 belongs to users the asker cannot use


def test_equal_strength_in_both_directions_uses_the_edge_stored_from_the_smaller_id(graph):
    edges = [e(2, 1, 0.5, U2), e(1, 2, 0.5, U1)]
    graph.load(nodes(1, 2), edges)
    for source, target in [(1, 2), (2, 1)]:
        (path,) = graph.store.shortest_paths(source, target, EVERYTHING)
        assert (path.hops[0].from_id, path.hops[0].to_id, path.hops[0].owner_user_id) == (source, target, U1)


def test_edges_of_owners_not_permitted_are_never_used(graph):
    #  1 -(U2, 1.0)- 2 -(U2, 1.0)- 4 ;  1 -(U1, 0.2)- 3 -(U1, 0.2)- 4 ;  1 -(unowned)- 5 -(unowned)- 4
    edges = [e(1, 2, 1.0, U2), e(2, 4, 1.0, U2), e(1, 3, 0.2, U1), e(3, 4, 0.2, U1), e(1, 5, 0.5), e(5, 4, 0.5)]
    graph.load(nodes(1, 2, 3, 4, 5), edges)
    store = graph.store
    mine = Access(frozenset({U1}), include_unowned=False)
    shared = Access(frozenset({U1}))
    assert people_of(store.shortest_paths(1, 4, EVERYTHING)) == [(1, 2, 4), (1, 5, 4), (1, 3, 4)]
    assert people_of(store.shortest_paths(1, 4, shared)) == [(1, 5, 4), (1, 3, 4)]
    assert people_of(store.shortest_paths(1, 4, mine)) == [(1, 3, 4)]
    check_hops(store.shortest_paths(1, 4, shared), edges, shared)
    assert store.hop_distances(1, mine) == {1: 0, 3: 1, 4: 2}
    assert store.hop_distances(2, mine) == {2: 0}
    assert store.mutuals(1, 4, shared) == [3, 5]
    assert store.mutuals(1, 4, mine) == [3]
    assert store.degree_counts(1, mine, max_hops=2) == {1: 1, 2: 1}
    assert people_of(store.best_paths_to_each(1, [2, 4], mine)) == [(1, 3, 4)]
    assert store.shortest_paths(1, 4, Access(frozenset({3}), include_unowned=False)) == []


def test_hops_carry_their_edge(graph):
    evidence = {"sources": [7], "mutual": True}
    edges = [e(2, 1, 0.7, U1, since=date(2020, 1, 2), evidence=evidence), e(2, 3, 0.4)]
    graph.load(nodes(1, 2, 3), edges)
    (path,) = graph.store.shortest_paths(1, 3, EVERYTHING)
    first, second = path.hops
    assert (first.from_id, first.to_id, first.strength, first.owner_user_id) == (1, 2, 0.7, U1)
    assert first.since == date(2020, 1, 2)
    assert first.evidence == evidence
    assert (second.owner_user_id, second.since) == (None, None)


# --- a random graph against brute force -------------------------------------------------------------------------


def _adjacency(edges: list[Edge], access: Access) -> dict[int, dict[int, float]]:
    adjacency: dict[int, dict[int, float]] = {}
    for x in edges:
        if access.allows(x.owner_user_id):
            for a, b in ((x.from_id, x.to_id), (x.to_id, x.from_id)):
                adjacency.setdefault(a, {})
                adjacency[a][b] = max(adjacency[a].get(b, -1.0), x.strength)
    return adjacency


def _brute_distances(edges: list[Edge], access: Access, source: int) -> dict[int, int]:
    adjacency, distances, frontier = _adjacency(edges, access), {source: 0}, [source]
    while frontier:
        layer = []
        for person in frontier:
            for n in adjacency.get(person, {}):
                if n not in distances:
                    distances[n] = distances[person] + 1
                    layer.append(n)
        frontier = layer
    return distances


def _brute_paths(edges: list[Edge], access: Access, source: int, target: int, max_hops: int) -> list[tuple]:
    """Every simple path source→target of at most max_hops hops, as (rank key, people), best first."""
    adjacency = _adjacency(edges, access)
    found = []

    def walk(people: tuple[int, ...]) -> None:
        if people[-1] == target:
            product = math.prod(adjacency[a][b] for a, b in pairwise(people))
            found.append(((len(people) - 1, -round(product, 12), people), people))
            return
        if len(people) - 1 == max_hops:
            return
        for n in adjacency.get(people[-1], {}):
            if n not in people:
                walk((*people, n))

    if source != target:
        walk((source,))
    return sorted(found)


@pytest.mark.parametrize("seed", [3, 11])
def test_random_graph_matches_brute_force(graph, seed):
    rnd = random.Random(seed)
    ids = list(range(1, 13))
    edges: dict[tuple[int, int], Edge] = {}
    while len(edges) < 22:
        a, b = rnd.sample(ids, 2)
        if (a, b) not in edges:
            edges[(a, b)] = e(a, b, rnd.choice([0.0, 0.25, 0.5, 0.5, 0.75, 1.0]), rnd.choice([None, None, U1, U2]))
    edge_list = list(edges.values())
    graph.load(nodes(*ids), edge_list)
    store = graph.store
    for access in [EVERYTHING, Access(frozenset({U1})), Access(frozenset({U1, U2}), include_unowned=False)]:
        for source in ids[:6]:
            for target in ids:
                expected = [people for _, people in _brute_paths(edge_list, access, source, target, 4)][:4]
                paths = store.shortest_paths(source, target, access, max_hops=4, limit=4)
                assert people_of(paths) == expected, (access, source, target)
                check_hops(paths, edge_list, access)
            assert store.hop_distances(source, access) == _brute_distances(edge_list, access, source)
            reachable = {t: _brute_paths(edge_list, access, source, t, 3) for t in ids}
            best = sorted(found[0] for found in reachable.values() if found)
            assert people_of(store.best_paths_to_each(source, ids, access, limit=50)) == [p for _, p in best]

"""The k-best search's bridge (`_Balls.bridge`): paths one hop longer than the two BFS balls reach are found from
the edges joining the two frontiers, without fetching a frontier's whole neighbourhood, and the answers are
exactly those of a brute-force enumeration (and of the search without a bridge)."""

import math
import random
from collections.abc import Mapping, Sequence
from itertools import pairwise

import pytest

from pipelines.graph import paths

Adjacency = dict[int, dict[int, float]]


class Counting:
    """Fetch and between functions over an in-memory adjacency that record who was fetched."""

    def __init__(self, adjacency: Adjacency) -> None:
        self.adjacency = adjacency
        self.fetched: list[int] = []
        self.bridges = 0

    def fetch(self, people: Sequence[int]) -> Mapping[int, Mapping[int, float]]:
        self.fetched.extend(people)
        return {p: self.adjacency[p] for p in people if p in self.adjacency}

    def between(self, people: Sequence[int], others: Sequence[int]) -> Mapping[int, Mapping[int, float]]:
        self.bridges += 1
        wanted = set(others)
        found = {p: {n: s for n, s in self.adjacency.get(p, {}).items() if n in wanted} for p in people}
        return {p: joined for p, joined in found.items() if joined}


def random_graph(rnd: random.Random, people: int, edges: int) -> Adjacency:
    adjacency: Adjacency = {p: {} for p in range(people)}
    while sum(map(len, adjacency.values())) < 2 * edges:
        a, b = rnd.sample(range(people), 2)
        strength = rnd.choice([0.0, 0.25, 0.5, 0.5, 0.75, 1.0])
        adjacency[a][b] = adjacency[b][a] = strength
    return adjacency


def brute_force(adjacency: Adjacency, source: int, target: int, max_hops: int, limit: int) -> list[tuple[int, ...]]:
    """Every simple path of at most `max_hops` hops, in rank order (`Path.rank_key`), the first `limit`."""
    found = []

    def walk(people: tuple[int, ...]) -> None:
        if people[-1] == target:
            product = math.prod(adjacency[a][b] for a, b in pairwise(people))
            found.append((len(people) - 1, -round(product, 12), people))
        elif len(people) - 1 < max_hops:
            for n in adjacency[people[-1]]:
                if n not in people:
                    walk((*people, n))

    if source != target:
        walk((source,))
    return [people for *_, people in sorted(found)[:limit]]


@pytest.mark.parametrize("seed", range(12))
def test_bridged_search_matches_brute_force(seed, monkeypatch):
    monkeypatch.setattr(paths, "BRIDGE_AT", 0)  # bridge whenever possible: these frontiers are small
    rnd = random.Random(seed)
    adjacency = random_graph(rnd, people=30, edges=45)
    bridges = 0
    for _ in range(40):
        source, target = rnd.sample(range(30), 2)
        expected = brute_force(adjacency, source, target, max_hops=5, limit=6)
        store = Counting(adjacency)
        bridged = paths.k_best_paths(paths.Neighbours(store.fetch, store.between), source, target, max_hops=5, limit=6)
        unbridged = paths.k_best_paths(paths.Neighbours(store.fetch), source, target, max_hops=5, limit=6)
        assert bridged == expected, (seed, source, target)
        assert unbridged == expected, (seed, source, target)
        bridges += store.bridges
    assert bridges > 0  # the bridge was exercised, not bypassed


def two_hubs() -> Adjacency:
    """Source 0 - hub 1 (1,000 leaves) and target 9 - hub 2 (1,000 leaves); one leaf of hub 1 is joined to hub 2,
    so the distance is 4, and three leaf pairs are joined, so paths of 5 go leaf to leaf. Every edge the balls
    see is 0.5; the leaf-to-leaf edges are stronger, so their order tests that the bridge raises the bound."""
    adjacency: Adjacency = {}

    def join(a: int, b: int, strength: float) -> None:
        adjacency.setdefault(a, {})[b] = strength
        adjacency.setdefault(b, {})[a] = strength

    join(0, 1, 0.5)
    join(9, 2, 0.5)
    for leaf in range(100, 1100):
        join(1, leaf, 0.5)
        join(2, leaf + 1000, 0.5)
    join(2, 100, 0.5)  # 0-1-100-2-9: the one shortest path
    for a, b, strength in ((101, 1101, 0.9), (102, 1102, 0.6), (103, 1103, 0.7)):
        join(a, b, strength)
        join(a, a + 5000, 0.1)  # leaves have neighbours of their own
    return adjacency


def test_the_next_length_is_bridged_not_fetched():
    store = Counting(two_hubs())
    found = paths.k_best_paths(paths.Neighbours(store.fetch, store.between), 0, 9, max_hops=6, limit=4)
    assert found == [(0, 1, 100, 2, 9), (0, 1, 101, 1101, 2, 9), (0, 1, 103, 1103, 2, 9), (0, 1, 102, 1102, 2, 9)]
    assert found == brute_force(store.adjacency, 0, 9, max_hops=5, limit=4)
    assert store.bridges == 1
    assert not {101, 102, 103, 1101, 1102, 1103} & set(store.fetched)  # neither hub's leaves were fetched

    unbridged = Counting(two_hubs())
    assert paths.k_best_paths(paths.Neighbours(unbridged.fetch), 0, 9, max_hops=6, limit=4) == found
    assert len(unbridged.fetched) > 1000  # without the bridge a whole frontier of leaves is fetched


def test_small_frontiers_are_only_bridged_once_the_distance_is_known():
    rnd = random.Random(5)
    adjacency = random_graph(rnd, people=30, edges=45)
    for source, target in [(0, 29), (3, 17), (8, 21)]:
        store = Counting(adjacency)
        distance = paths.hop_distance(paths.Neighbours(store.fetch, store.between), source, target, 6)
        assert distance == len(brute_force(adjacency, source, target, max_hops=6, limit=1)[0]) - 1
        assert store.bridges == 0  # a speculative bridge only between big frontiers: these are small
        store = Counting(adjacency)
        found = paths.k_best_paths(paths.Neighbours(store.fetch, store.between), source, target, max_hops=5, limit=6)
        assert found == brute_force(adjacency, source, target, max_hops=5, limit=6)


def test_the_two_ends_are_fetched_together():
    adjacency = two_hubs()
    calls: list[list[int]] = []

    def fetch(people: Sequence[int]) -> Mapping[int, Mapping[int, float]]:
        calls.append(list(people))
        return {p: adjacency[p] for p in people if p in adjacency}

    paths.k_best_paths(paths.Neighbours(fetch), 0, 9, max_hops=6, limit=1)
    assert calls[0] == [0, 9]

"""The k-best search's distance floor (`_Balls.distance_floor`): partial paths that cannot reach the target in the
hops they have left are dropped, so a long search between people whose edges are all equally strong finds its
paths instead of spending its work bound on dead ends; and the answers stay exactly those of brute force."""

import random
from collections.abc import Mapping, Sequence
from itertools import pairwise

import networkx as nx
import pytest

from pipelines.graph import paths
from pipelines.graph.load import read_edge_list
from tests.conftest import SHARED_DATA
from tests.unit.test_paths_bridge import Counting, brute_force, random_graph

FACEBOOK = SHARED_DATA / "snap-ego-facebook" / "facebook_combined.txt"


@pytest.mark.parametrize("seed", range(12))
def test_pruning_by_the_floor_matches_brute_force(seed, monkeypatch):
    monkeypatch.setattr(paths, "FLOOR_AFTER", 0)  # the floor from the first step
    rnd = random.Random(100 + seed)
    adjacency = random_graph(rnd, people=30, edges=45)
    for bridge_at in (0, paths.BRIDGE_AT):
        monkeypatch.setattr(paths, "BRIDGE_AT", bridge_at)
        for _ in range(30):
            source, target = rnd.sample(range(30), 2)
            expected = brute_force(adjacency, source, target, max_hops=5, limit=6)
            store = Counting(adjacency)
            found = paths.k_best_paths(
                paths.Neighbours(store.fetch, store.between), source, target, max_hops=5, limit=6
            )
            assert found == expected, (seed, bridge_at, source, target)


def with_degrees(adjacency: Mapping[int, Mapping[int, float]]) -> paths.Neighbours:
    """Neighbours over an in-memory graph that, like the Neo4j adapter, reports the neighbours' edge counts."""
    degrees: dict[int, int] = {}

    def fetch(people: Sequence[int]) -> Mapping[int, Mapping[int, float]]:
        for person in people:
            degrees.update((n, len(adjacency[n])) for n in adjacency.get(person, {}))
        return {p: adjacency[p] for p in people if p in adjacency}

    def between(people: Sequence[int], others: Sequence[int]) -> Mapping[int, Mapping[int, float]]:
        wanted = set(others)
        return {p: {n: s for n, s in adjacency.get(p, {}).items() if n in wanted} for p in people}

    return paths.Neighbours(fetch, between, degrees)


def test_six_hops_apart_on_ego_facebook_with_equal_strengths_a_path_is_found():
    graph = nx.Graph(list(read_edge_list(FACEBOOK)))
    adjacency = {int(a): {int(b): 0.5 for b in graph[a]} for a in graph}
    rnd = random.Random(6)
    nodes = sorted(adjacency)
    pairs: list[tuple[int, int]] = []
    while len(pairs) < 25:  # pairs exactly 6 hops apart: the longest paths sixdeg returns
        a, b = rnd.sample(nodes, 2)
        if nx.shortest_path_length(graph, str(a), str(b)) == 6:
            pairs.append((a, b))
    pairs.append((713, 2340))  # before the floor: no path within the work bound, with or without edge counts
    unbounded = 10**9
    for source, target in pairs:
        nb = with_degrees(adjacency)
        everything = paths.k_best_paths(nb, source, target, max_hops=6, limit=5, max_work=unbounded)
        assert everything and all(len(p) == 7 for p in everything)
        assert all(graph.has_edge(str(x), str(y)) for p in everything for x, y in pairwise(p))
        for nb in (paths.Neighbours(Counting(adjacency).fetch, Counting(adjacency).between), with_degrees(adjacency)):
            assert paths.k_best_paths(nb, source, target, max_hops=6, limit=5) == everything, (source, target)

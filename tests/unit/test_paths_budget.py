"""Path enumeration on a huge hub: the work budget may stop the walk, never the answer already found."""

from collections.abc import Mapping, Sequence

from pipelines.graph import paths

HUB, LEAVES = 0, range(1, 5001)


def star(people: Sequence[int]) -> Mapping[int, Mapping[int, float]]:
    """A hub joined to 5,000 leaves, plus one leaf-to-leaf edge (1-2)."""
    adjacency: dict[int, dict[int, float]] = {}
    for person in people:
        if person == HUB:
            adjacency[person] = dict.fromkeys(LEAVES, 0.5)
        else:
            adjacency[person] = {HUB: 0.5, **({2: 0.9} if person == 1 else {1: 0.9} if person == 2 else {})}
    return adjacency


def test_a_direct_neighbour_of_a_hub_is_found_when_the_budget_runs_out():
    found = paths.k_best_paths(paths.Neighbours(star), HUB, 4321, max_hops=3, limit=1, max_work=100)
    assert found == [(HUB, 4321)]


def test_paths_found_before_the_budget_ran_out_keep_their_rank_order():
    found = paths.k_best_paths(paths.Neighbours(star), HUB, 2, max_hops=3, limit=5, max_work=100)
    assert found[0] == (HUB, 2)  # the direct edge first; the 2-hop path through 1 only if budget allowed
    assert all(path[0] == HUB and path[-1] == 2 for path in found)

"""Path algorithms shared by the graph adapters, over an abstract neighbour function.

An adapter supplies `fetch(people) -> {person: {neighbour: strength}}`: for each person asked about, the people
joined to them by a permitted edge in either stored direction, with the strength of the strongest such edge.
Everything here asks for a whole BFS layer at once through a per-query cache (`Neighbours`), so a query costs one
round trip per layer, never one per person, and nobody's neighbours are fetched twice.

Ranking is `Path.rank_key()`: fewest hops, then the highest product of strengths (rounded to 12 decimals), then the
lowest sequence of person ids. Between two consecutive people the hop is their strongest permitted edge; when
both stored directions are permitted and equally strong, the edge stored from the smaller person id
(`strongest_edges`). All results are deterministic: distances are unique, and every choice is made by a total order.

Work bound. A query reads each person's neighbours at most once (`Neighbours` caches them), so at worst it reads
the reachable part of the graph once, in one fetch per BFS layer: at most `max_hops` fetches for paths (plus one
for the target's own neighbours and a few for a forced start, see `_forced_start`). The k-best search itself
fetches nothing and examines at most `MAX_PATH_WORK` (partial path, neighbour) pairs, about a quarter of a second
of CPU; when that runs out it returns the paths completed so far, which are still the best ones in rank order,
only fewer than asked. Distances, degree counts and the best path to each target are plain layered BFS: O(V + E)
of the explored ball.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from itertools import pairwise

from pipelines.graph.port import Hop, Neighbourhood, Path

Fetch = Callable[[Sequence[int]], Mapping[int, Mapping[int, float]]]
"""people → {person: {neighbour: strength of the strongest permitted edge}}; people without edges may be absent."""

Between = Callable[[Sequence[int], Sequence[int]], Mapping[int, Mapping[int, float]]]
"""(people, others) → {person: {other: strength of the strongest permitted edge}}: only the edges joining the two
sets (either stored direction). Far cheaper than fetching the people's whole neighbourhoods when both are big
frontiers and few edges join them."""

#: (partial path, neighbour) pairs the k-best search may examine per query (about 0.25 s of CPU).
MAX_PATH_WORK = 500_000
#: Work (as counted against `MAX_PATH_WORK`) after which one length's search computes `_Balls.distance_floor` and
#: prunes with it: the usual search never gets there, and it saves the rare one that would wander. The floor reads
#: every cached edge of the source ball: after 2,000 it ran in 573 of 1,000 GitHub queries (SQL p99 86 ms in
#: process, against 49 ms after 50,000, where it ran in none).
FLOOR_AFTER = 50_000
#: Candidate partial paths kept per person when finding the best path to each target (see `best_paths_to_each`).
MAX_FRONT = 64

#: When the search asks for the edges joining the two frontiers (`_Balls.bridge`) instead of expanding the cheaper
#: one, in expected edges (`Neighbours.expansion_cost`): when both frontiers are at least `BRIDGE_AT` (expanding
#: either reads thousands of rows; the bridge, a few), or both at most `BRIDGE_SMALL` (the bridge is a cheap
#: query, and a small frontier can still hold a hub whose thousands of edges it spares). Not when one is small
#: and the other big: the bridge's big list costs more to plan than the small frontier costs to expand.
BRIDGE_AT = 2_000
BRIDGE_SMALL = 2_000
#: The degree assumed for a person whose edge count the adapter does not report (people x this = edges).
NOMINAL_DEGREE = 10

MAX_FORCED = 8  # a forced start longer than any path we return needs no more walking
_FAR = 1 << 30  # the distance floor of people the target cannot be reached from

_NO_NEIGHBOURS: Mapping[int, float] = {}


class Neighbours:
    """A per-query cache in front of a `Fetch`: `load` fetches a whole frontier in one call, skipping people
    already known."""

    def __init__(self, fetch: Fetch, between: Between | None = None, degrees: Mapping[int, int] | None = None) -> None:
        """`degrees`, when the adapter can tell them cheaply, is a mapping it keeps filling as it fetches: the
        number of stored edges of people seen as neighbours. It only steers which side to work from."""
        self._fetch = fetch
        self._between = between
        self._degrees = degrees
        self._adjacency: dict[int, Mapping[int, float]] = {}
        # Frontier lists whose edge counts were all known, by id (the list is kept, so its id is not reused).
        self._exact_costs: dict[int, tuple[Sequence[int], int]] = {}
        self.fetches = 0

    def expansion_cost(self, people: Sequence[int]) -> int:
        """About how many edges reading these people's neighbours returns: their edge counts when the adapter
        reports every one of them, else `NOMINAL_DEGREE` per person. (The search asks about the same frontier
        lists again and again, never changing them, so an exact answer is kept for the list.)"""
        known = self._exact_costs.get(id(people))
        if known is not None and known[0] is people:
            return known[1]
        degrees = self._degrees
        if degrees is not None and all(p in degrees for p in people):
            cost = sum(degrees[p] for p in people)
            self._exact_costs[id(people)] = (people, cost)
            return cost
        return len(people) * NOMINAL_DEGREE

    def cheaper_first(self, people: Sequence[int], others: Sequence[int]) -> bool:
        """Whether reading the neighbours of `people` costs no more than reading those of `others`."""
        return self.expansion_cost(people) <= self.expansion_cost(others)

    @property
    def can_bridge(self) -> bool:
        return self._between is not None

    def between(self, people: Sequence[int], others: Sequence[int]) -> Mapping[int, Mapping[int, float]]:
        """The permitted edges joining `people` to `others` (one adapter call, walked from the cheaper side, which
        the adapter gets first; nothing cached)."""
        assert self._between is not None
        self.fetches += 1
        if self.cheaper_first(people, others):
            return self._between(sorted(people), sorted(others))
        joined: dict[int, dict[int, float]] = {}  # walked from `others`, the cheaper side: turned round
        for other, found in self._between(sorted(others), sorted(people)).items():
            for person, strength in found.items():
                joined.setdefault(person, {})[other] = strength
        return joined

    def load(self, people: Iterable[int]) -> None:
        missing = sorted({p for p in people if p not in self._adjacency})
        if not missing:
            return
        found = self._fetch(missing)
        self.fetches += 1
        for person in missing:
            self._adjacency[person] = found.get(person, _NO_NEIGHBOURS)

    def known(self, person: int) -> Mapping[int, float] | None:
        """The person's neighbours if already fetched, else None (no fetch)."""
        return self._adjacency.get(person)

    def of(self, person: int) -> Mapping[int, float]:
        adjacency = self._adjacency.get(person)
        if adjacency is None:
            self.load((person,))
            adjacency = self._adjacency[person]
        return adjacency


def _expand(nb: Neighbours, frontier: list[int], dist: dict[int, int], depth: int) -> list[int]:
    """Label the unlabelled neighbours of `frontier` with `depth`; return them (the next layer)."""
    nb.load(frontier)
    layer: list[int] = []
    for person in frontier:
        for neighbour in nb.of(person):
            if neighbour not in dist:
                dist[neighbour] = depth
                layer.append(neighbour)
    return layer


def hop_distances(nb: Neighbours, source: int, max_depth: int | None = None) -> dict[int, int]:
    """Hop count from `source` to everyone reachable (within `max_depth` hops when given); source at 0."""
    dist = {source: 0}
    frontier = [source]
    depth = 0
    while frontier and (max_depth is None or depth < max_depth):
        depth += 1
        frontier = _expand(nb, frontier, dist, depth)
    return dist


def neighbourhood(nb: Neighbours, source: int, max_depth: int, limit: int) -> Neighbourhood:
    """The ego network: layer by layer, each layer's people by their strongest tie to the layer before (then
    id), cut at `limit` people; then the edges among the chosen people."""
    chosen = {source: 0}
    frontier = [source]
    truncated = False
    for depth in range(1, max_depth + 1):
        if not frontier:
            break
        nb.load(frontier)
        ties: dict[int, float] = {}
        for person in frontier:
            for neighbour, strength in nb.of(person).items():
                if neighbour not in chosen and strength > ties.get(neighbour, -1.0):
                    ties[neighbour] = strength
        room = limit - len(chosen)
        layer = sorted(ties, key=lambda p: (-ties[p], p))[: max(room, 0)]
        if len(layer) < len(ties):
            truncated = True
        for person in layer:
            chosen[person] = depth
        frontier = layer
        if truncated:
            break
    nb.load(chosen)
    edges: dict[tuple[int, int], float] = {}
    for person in chosen:
        for neighbour, strength in nb.of(person).items():
            if neighbour in chosen and neighbour != person:
                pair = (min(person, neighbour), max(person, neighbour))
                edges[pair] = max(strength, edges.get(pair, -1.0))
    return Neighbourhood(
        distances=chosen, edges=[(a, b, s) for (a, b), s in sorted(edges.items())], truncated=truncated
    )


def degree_counts(nb: Neighbours, source: int, max_depth: int) -> dict[int, int]:
    """How many people are at exactly 1, 2, ... `max_depth` hops (every depth present, 0 when nobody)."""
    counts = dict.fromkeys(range(1, max_depth + 1), 0)
    for person, depth in hop_distances(nb, source, max_depth).items():
        if person != source:
            counts[depth] += 1
    return counts


def mutuals(nb: Neighbours, a: int, b: int) -> list[int]:
    """People adjacent to both a and b (neither of them), sorted by id."""
    nb.load((a, b))
    return sorted((nb.of(a).keys() & nb.of(b).keys()) - {a, b})


class _Balls:
    """BFS balls around the source and the target, grown a whole layer at a time, the cheaper frontier first.

    Inside a ball of radius r every layer below r has been expanded (its people's neighbours are in the cache)
    and distances up to r are exact; a ball whose frontier ran dry holds the source's (target's) whole component.
    """

    def __init__(self, nb: Neighbours, source: int, target: int) -> None:
        self.nb, self.source, self.target = nb, source, target
        self.ds, self.dt = {source: 0}, {target: 0}
        self.fs, self.ft = [source], [target]
        self.rs = self.rt = 0
        self.strongest = 0.0  # the strongest edge seen at any expanded person (an upper bound for the search)
        self._t_inner: list[int] = []  # the target's layer rt - 1
        self._into_frontier: dict[int, dict[int, float]] | None = None
        # After `bridge()`: for each person on the source frontier, their neighbours within rt of the target.
        self._into_target_ball: dict[int, dict[int, float]] | None = None

    @property
    def complete(self) -> bool:
        """One side's whole component is known."""
        return not self.fs or not self.ft

    def _expand(self, frontier: list[int], dist: dict[int, int], depth: int) -> list[int]:
        self.nb.load(frontier)
        layer: list[int] = []
        strongest = self.strongest
        for person in frontier:
            adjacency = self.nb.of(person)
            if adjacency:
                strongest = max(strongest, max(adjacency.values()))
            for neighbour in adjacency:
                if neighbour not in dist:
                    dist[neighbour] = depth
                    layer.append(neighbour)
        self.strongest = strongest
        return layer

    def grow(self) -> bool:
        """Expand the cheaper frontier (the source's on a tie) by one layer; True if the balls now touch."""
        self._into_target_ball = None
        if self.fs and (not self.ft or self.nb.cheaper_first(self.fs, self.ft)):
            self.rs += 1
            self.fs = self._expand(self.fs, self.ds, self.rs)
            return any(p in self.dt for p in self.fs)
        self.rt += 1
        self._t_inner, self._into_frontier = self.ft, None
        self.ft = self._expand(self.ft, self.dt, self.rt)
        return any(p in self.ds for p in self.ft)

    def meet(self, max_hops: int) -> int | None:
        """Grow until the balls touch: the distance is then rs + rt (no shorter path exists, or they would have
        touched a layer earlier). None when farther than `max_hops` or in another component."""
        if self.source == self.target:
            return 0
        while self.fs and self.ft and self.rs + self.rt < max_hops:
            if self._worth_bridging(speculative=True) and self.rs + self.rt + 1 <= max_hops:
                # In a small-world graph two big frontiers are usually joined; when they are not, the
                # expansion follows and the bridge was wasted.
                self.bridge()
                if self._into_target_ball:  # untouched balls: only frontier-to-frontier edges can be found
                    return self.rs + self.rt + 1
            if self.grow():
                return self.rs + self.rt
        return None

    def _worth_bridging(self, *, speculative: bool = False) -> bool:
        """Whether to ask for the edges joining the frontiers rather than expand the cheaper one (see
        `BRIDGE_AT`). A speculative bridge (while the distance is still unknown, so it may find nothing and the
        expansion follow anyway) only between big frontiers."""
        if not self.nb.can_bridge:
            return False
        cheaper, dearer = sorted((self.nb.expansion_cost(self.fs), self.nb.expansion_cost(self.ft)))
        return cheaper >= BRIDGE_AT or (not speculative and dearer <= BRIDGE_SMALL)

    def grow_to(self, length: int) -> None:
        """Make every path of `length` hops searchable without fetching (see `_best_of_length`): grow until
        rs + rt >= length (or one side is complete), except that the last layer is bridged when both frontiers are
        big: at rs + rt = length - 1 only the edges joining the two frontiers are missing, and one query between
        them returns those few instead of every neighbour of a frontier (often thousands of people on hubs)."""
        while not self.complete and self.rs + self.rt < length:
            if self.rs + self.rt == length - 1 and (self.bridged or self._worth_bridging()):
                if not self.bridged:
                    self.bridge()
                return
            self.grow()

    @property
    def bridged(self) -> bool:
        return self._into_target_ball is not None

    def bridge(self) -> None:
        """Index, for each person on the source frontier (distance rs, not expanded), their neighbours within rt
        of the target: those at distance < rt are expanded, so the edges are already cached (read backwards);
        those on the target's frontier come from one `between` query. Valid until the next `grow()`."""
        ds, rs, rt = self.ds, self.rs, self.rt
        index: dict[int, dict[int, float]] = {}
        strongest = self.strongest
        for person, others in self.nb.between(self.fs, self.ft).items():
            if others:
                index[person] = dict(others)
                strongest = max(strongest, max(others.values()))
        for inner, depth in self.dt.items():
            if depth < rt:
                for neighbour, strength in self.nb.of(inner).items():
                    if ds.get(neighbour) == rs:
                        index.setdefault(neighbour, {})[inner] = strength
        self.strongest = strongest  # bridge edges join unexpanded people: the search's bound must cover them
        self._into_target_ball = index

    def into_target_ball(self, person: int) -> Mapping[int, float]:
        """After `bridge()`: neighbours within rt of the target of a person on the source frontier."""
        assert self._into_target_ball is not None
        return self._into_target_ball.get(person, _NO_NEIGHBOURS)

    def distance_floor(self) -> dict[int, int]:
        """For everyone either ball labels, a lower bound on their distance to the target, for pruning partial
        paths that cannot reach the target in the hops they have left (valid until the next `grow()`).

        Exact within the target ball (dt). On the source frontier (not expanded), outside the target ball: rt + 1,
        or once bridged, rt + 1 with a bridge edge and rt + 2 without one; unreachable when the target's whole
        component is known. For the expanded source people: one more than their nearest neighbour's floor (every
        neighbour of theirs is labelled), a breadth-first relaxation from the others. Without it, at a 6-hop
        distance between two people whose edges are all equally strong, the best-first search walks dead ends in
        lowest-id order and can spend its whole work bound before finding a single path."""
        ds, dt, rs, rt = self.ds, self.dt, self.rs, self.rt
        floor = dict(dt)
        for person, depth in ds.items():
            if depth == rs and person not in floor:
                if not self.ft:
                    floor[person] = _FAR
                elif self.bridged:
                    floor[person] = rt + 1 if self.into_target_ball(person) else rt + 2
                else:
                    floor[person] = rt + 1
        # Who each floor can lower: the expanded source people still without one, filed under their neighbours.
        waiting: dict[int, list[int]] = {}
        for person, depth in ds.items():
            if depth < rs and person not in floor:
                for neighbour in self.nb.of(person):
                    waiting.setdefault(neighbour, []).append(person)
        layers: dict[int, list[int]] = {}
        for person, value in floor.items():
            if person in waiting:
                layers.setdefault(value, []).append(person)
        value = 0
        while layers:
            settled = layers.pop(value, [])
            for person in settled:
                for waiter in waiting.get(person, ()):
                    if waiter not in floor:
                        floor[waiter] = value + 1
                        layers.setdefault(value + 1, []).append(waiter)
            value += 1
        return floor

    def into_frontier(self, person: int) -> Mapping[int, float]:
        """Neighbours one layer closer to the target of a person on the target's frontier (distance rt, not
        expanded), read from the expanded layer rt - 1: no fetch needed."""
        if self._into_frontier is None:
            index: dict[int, dict[int, float]] = {}
            rt, dt = self.rt, self.dt
            for inner in self._t_inner:
                for neighbour, strength in self.nb.of(inner).items():
                    if dt.get(neighbour) == rt:
                        index.setdefault(neighbour, {})[inner] = strength
            self._into_frontier = index
        return self._into_frontier.get(person, _NO_NEIGHBOURS)


def hop_distance(nb: Neighbours, source: int, target: int, max_hops: int) -> int | None:
    """Fewest hops from source to target, or None when farther than `max_hops` (or unreachable). Bidirectional
    BFS, one fetch per layer."""
    return _Balls(nb, source, target).meet(max_hops)


class _Budget:
    def __init__(self, work: int) -> None:
        self.left = work


class _NearTarget:
    """The people within h hops of the target (the target left out), per h, listed on first use."""

    def __init__(self, dt: Mapping[int, int], target: int) -> None:
        self._dt, self._target = dt, target
        self._within: dict[int, list[int]] = {}

    def within(self, hops: int) -> list[int]:
        near = self._within.get(hops)
        if near is None:
            near = self._within[hops] = [p for p, d in self._dt.items() if d <= hops and p != self._target]
        return near


def _best_of_length(
    balls: _Balls,
    start: tuple[tuple[int, ...], float],
    length: int,
    want: int,
    budget: _Budget,
) -> list[tuple[int, ...]]:
    """The `want` best simple paths of exactly `length` hops that begin with the partial path `start` (people,
    product), best first. Needs balls with rs + rt >= length (or one complete), or bridged at
    rs + rt = length - 1.

    Best-first over partial paths keyed by (-bound, people): bound = product so far x strongest^(hops left), an
    upper bound of every completion's product because strengths are in [0, 1], and never rising along a path;
    people ties go to the lowest sequence. So completed paths come off the heap in rank order, and with equal
    strengths the search walks depth-first to the lowest-id path.

    Pruning uses exact distances to the target: a person reached with h hops left must be within h of the
    target. Those distances are known up to rt; a person at a position where h > rt cannot be pruned this way,
    but such positions lie within rs - 1 of the source (rs + rt >= length), where everyone's neighbours are
    already cached. Where h <= rt, the next person is within rt - 1 of the target, so it is found among the
    target ball's expanded people (`into_frontier` for a person on its frontier). No fetch happens here.

    Bridged (rs + rt = length - 1): the one new position is rs, h = rt + 1, where a person on the source frontier
    (not expanded) must step to someone within rt of the target: `into_target_ball` lists exactly those.
    """
    nb, target, dt, rt = balls.nb, balls.target, balls.dt, balls.rt
    ds, rs, bridged = balls.ds, balls.rs, balls.bridged
    t_complete = not balls.ft
    powers = [balls.strongest**k for k in range(length + 1)]
    near_target = _NearTarget(dt, target)
    floor: dict[int, int] | None = None  # `_Balls.distance_floor`, once this search has spent FLOOR_AFTER
    floor_at = budget.left - FLOOR_AFTER
    people, product = start
    heap = [(-round(product * powers[length - len(people) + 1], 12), people, product)]
    found: list[tuple[int, ...]] = []
    while heap and len(found) < want:
        # A spent budget stops the walk, not the answer: complete paths already on top of the heap are the best
        # left (heap order), so they are still taken (a direct neighbour of a huge hub is found this way).
        if budget.left <= 0 and heap[0][1][-1] != target:
            break
        neg_bound, people, product = heapq.heappop(heap)
        last = people[-1]
        if last == target:
            found.append(people)
            continue
        left = length - len(people)  # hops left after the next one
        if floor is None and budget.left <= floor_at:
            floor = balls.distance_floor()
        if floor is not None and floor.get(last, 0) > left + 1:
            continue  # cannot reach the target in the hops it has left
        adjacency = nb.known(last)
        if adjacency is None:
            if left == rt - 1 and dt.get(last) == rt:
                adjacency = balls.into_frontier(last)
            elif left == 0 and nb.known(target) is not None:
                strength = nb.of(target).get(last)
                adjacency = _NO_NEIGHBOURS if strength is None else {target: strength}
            elif bridged and left == rt and ds.get(last) == rs:
                adjacency = balls.into_target_ball(last)
            else:  # not expected (see above); stay correct at the price of a fetch
                adjacency = nb.of(last)
        budget.left -= len(adjacency) + 1
        if left == 0:  # only the target may come next
            strength = adjacency.get(target)
            if strength is not None:
                value = product * strength
                heapq.heappush(heap, (-round(value, 12), (*people, target), value))
            continue
        # The next person must be within `left` hops of the target. When every such person is known (rt >= left,
        # or the target's whole component is) and they are fewer than the neighbours, look them up instead of
        # walking a hub's thousands of neighbours. The heap's keys are unique, so the order of pushes is free.
        candidates: Iterable[tuple[int, float]] = adjacency.items()
        if t_complete or rt >= left:
            near = near_target.within(left)
            if len(near) < len(adjacency):
                candidates = ((n, adjacency[n]) for n in near if n in adjacency)
        for neighbour, strength in candidates:
            if neighbour == target or neighbour in people:
                continue
            to_target = dt.get(neighbour)
            if to_target is None:
                if t_complete or rt >= left:
                    continue
                if floor is not None and floor.get(neighbour, 0) > left:
                    continue
            elif to_target > left:
                continue
            value = product * strength
            bound = min(-neg_bound, round(value * powers[left], 12))
            heapq.heappush(heap, (-bound, (*people, neighbour), value))
    return found


def k_best_paths(
    nb: Neighbours, source: int, target: int, *, max_hops: int, limit: int, max_work: int = MAX_PATH_WORK
) -> list[tuple[int, ...]]:
    """Up to `limit` best simple paths (as person-id sequences) from source to target with at most `max_hops`
    hops, in rank order; [] when source == target or the target is farther than `max_hops`.

    Bidirectional BFS finds the distance d; then for each length d, d+1, ... (paths of fewer hops always rank
    first) the two balls grow until their radii add up to the length, and a best-first search enumerates paths
    of exactly that length until `limit` are found or `max_work` is spent.
    """
    if source == target or limit <= 0 or max_hops < 1:
        return []
    nb.load((source, target))  # both are needed whatever happens (`_forced_start`, `entries`): one fetch, not two
    balls = _Balls(nb, source, target)
    hops = balls.meet(max_hops)
    if hops is None:
        return []
    start = _forced_start(nb, source, target)
    people = set(start[0])
    # Where a path can enter the target from: if only from the end of the forced start, there is one path.
    entries = [p for p in nb.of(target) if p not in people or p == start[0][-1]]
    longest = len(start[0]) if entries == [start[0][-1]] else max_hops
    budget = _Budget(max_work)
    found: list[tuple[int, ...]] = []
    for length in range(hops, min(longest, max_hops) + 1):
        balls.grow_to(length)
        found += _best_of_length(balls, start, length, limit - len(found), budget)
        if len(found) >= limit or budget.left <= 0:
            break
    return found


def _forced_start(nb: Neighbours, source: int, target: int) -> tuple[tuple[int, ...], float]:
    """The hops every path must begin with: while the last person has a single neighbour left (and it is not the
    target), that neighbour is next. Cheap, and it spares long futile searches between people who hang off the
    same hub by a single edge (common in real networks: there is exactly one path between them)."""
    people, product = (source,), 1.0
    while True:
        onward = [(p, s) for p, s in nb.of(people[-1]).items() if p not in people]
        if len(onward) != 1 or onward[0][0] == target or len(people) > MAX_FORCED:
            return people, product
        people, product = (*people, onward[0][0]), product * onward[0][1]


def _pareto(candidates: list[tuple[float, tuple[int, ...]]]) -> list[tuple[float, tuple[int, ...]]]:
    """Keep the partial paths no other one beats for every continuation: lower sequence, or higher product.

    A path to v with a product >= another's and a lower sequence ranks first whatever follows; the others stay,
    because a later zero (or tiny) strength can make the products tie, and then the lower sequence wins.
    """
    candidates.sort(key=lambda c: c[1])
    front: list[tuple[float, tuple[int, ...]]] = []
    for product, people in candidates:
        if not front or product > front[-1][0]:
            front.append((product, people))
    return front[-MAX_FRONT:]


def best_paths_to_each(
    nb: Neighbours, source: int, targets: Iterable[int], *, max_hops: int, limit: int
) -> list[tuple[int, ...]]:
    """The best path to each target reachable within `max_hops` (source excluded), the `limit` best of those in
    rank order.

    BFS from the source, layer by layer, until every target is labelled; then, over the people that lie on a
    shortest path to some target, a forward pass keeps for each person the partial paths that can still be the
    best (`_pareto`: usually one; at most `MAX_FRONT`, keeping the strongest, which only matters when many
    strength ties arise at once).
    """
    wanted = set(targets) - {source}
    if not wanted or limit <= 0 or max_hops < 1:
        return []
    dist = {source: 0}
    layers = [[source]]
    remaining = set(wanted)
    while layers[-1] and len(layers) <= max_hops and remaining:
        layer = _expand(nb, layers[-1], dist, len(layers))
        remaining.difference_update(layer)
        layers.append(layer)
    reached = wanted & dist.keys()
    if not reached:
        return []
    # Who lies on a shortest path to a reached target: walk the layers back from the targets.
    useful = set(reached)
    for depth in range(len(layers) - 1, 0, -1):
        for person in layers[depth - 1]:
            if person not in useful and any(dist.get(n) == depth and n in useful for n in nb.of(person)):
                useful.add(person)
    fronts: dict[int, list[tuple[float, tuple[int, ...]]]] = {source: [(1.0, (source,))]}
    for depth in range(1, len(layers)):
        candidates: dict[int, list[tuple[float, tuple[int, ...]]]] = {}
        for person in layers[depth - 1]:
            if person not in useful:
                continue
            for neighbour, strength in nb.of(person).items():
                if dist.get(neighbour) == depth and neighbour in useful:
                    bucket = candidates.setdefault(neighbour, [])
                    bucket.extend((p * strength, (*people, neighbour)) for p, people in fronts[person])
        for person, bucket in candidates.items():
            fronts[person] = _pareto(bucket)
    best = [min(fronts[t], key=lambda c: (-round(c[0], 12), c[1])) for t in reached]
    best.sort(key=lambda c: (len(c[1]), -round(c[0], 12), c[1]))
    return [people for _, people in best[:limit]]


def strongest_edges(edges: Iterable[Hop]) -> dict[tuple[int, int], Hop]:
    """Stored edges (from_id → to_id as stored) → the hop for each unordered pair {a, b} keyed (min, max): the
    strongest; on equal strength, the one stored from the smaller id."""
    chosen: dict[tuple[int, int], Hop] = {}
    for edge in edges:
        key = (min(edge.from_id, edge.to_id), max(edge.from_id, edge.to_id))
        current = chosen.get(key)
        if current is None or (edge.strength, -edge.from_id) > (current.strength, -current.from_id):
            chosen[key] = edge
    return chosen


def build_paths(sequences: Iterable[Sequence[int]], edges: Iterable[Hop]) -> list[Path]:
    """Paths for person-id sequences, each hop the strongest of `edges` (stored edges covering every consecutive
    pair), turned to point along the path; sorted by `Path.rank_key()`. A sequence with a pair that no edge covers
    any more (deleted meanwhile) is left out."""
    chosen = strongest_edges(edges)
    paths = []
    for people in sequences:
        hops = []
        for a, b in pairwise(people):
            edge = chosen.get((min(a, b), max(a, b)))
            if edge is None:  # removed since the search saw it: drop the path rather than invent a hop
                break
            hops.append(edge if edge.from_id == a else replace(edge, from_id=a, to_id=b))
        else:
            paths.append(Path(tuple(people), tuple(hops)))
    paths.sort(key=Path.rank_key)
    return paths

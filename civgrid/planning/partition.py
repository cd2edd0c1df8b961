"""Balanced contiguous partition of a connected node graph: METIS, then band repair and
boundary refinement that never break contiguity.

METIS (multilevel k-way, contiguous) minimises the weighted cut, i.e. the grid boundary
length with road edges discounted, so grids come out compact and cut along roads. Its
balance is approximate and households are lumpy, so a local search then moves boundary
nodes between neighbouring grids: first to bring every grid into the band (the sum of
band violations strictly falls), then to shorten the boundaries while staying in the band.
"""

from __future__ import annotations

from collections import deque

import numpy as np
import pymetis
from scipy.sparse import csr_matrix

MAX_REPAIR_ROUNDS = 4000
ATTEMPTS = 4  # METIS seeds tried until one repairs to a fully in-band partition
REFINE_PASSES = 4
CHAIN_DEPTH = 4
CHAIN_WIDTH = 8
RESPLIT_TRIES = 12


def choose_count(households: int, band: tuple[int, int]) -> tuple[int, bool]:
    """The number of grids for a connected area, and whether the band can be met at all."""
    lo, hi = band
    k_min = max(1, -(-households // hi))
    k_max = households // lo
    if k_min > k_max:
        return k_min if households > hi else 1, False
    target = households / ((lo + hi) / 2)
    return int(min(max(round(target), k_min), k_max)), True


def partition(
    graph: csr_matrix, weights: np.ndarray, k: int, band: tuple[int, int], seed: int = 0
) -> np.ndarray:
    """Part index (0…k-1) of each node of a connected graph."""
    n = graph.shape[0]
    if k <= 1 or n <= 1:
        return np.zeros(n, dtype=np.int64)
    if k >= n:
        return np.arange(n, dtype=np.int64)
    best: tuple[int, float, np.ndarray] = (2**62, 0.0, np.zeros(n, dtype=np.int64))
    for attempt in range(ATTEMPTS):
        part = _metis(graph, weights, k, seed + attempt)
        refiner = Refiner(graph, weights, part, band)
        refiner.run()
        score = (refiner.total_violation(), refiner.cut())
        if score < best[:2]:
            best = (*score, part)
        if score[0] == 0:
            break
    part = best[2]
    return np.unique(part, return_inverse=True)[1].astype(np.int64)


def _metis(graph: csr_matrix, weights: np.ndarray, k: int, seed: int) -> np.ndarray:
    ew = np.maximum(1, np.round(graph.data * 10)).astype(np.int64)
    opts = pymetis.Options(seed=seed, ufactor=20, niter=20, ncuts=2, contig=1)
    _cut, parts = pymetis.part_graph(
        k,
        pymetis.CSRAdjacency(graph.indptr.astype(np.int64), graph.indices.astype(np.int64)),
        vweights=np.maximum(weights, 0).astype(np.int64),
        eweights=ew,
        options=opts,
    )
    part = np.unique(np.asarray(parts, dtype=np.int64), return_inverse=True)[1]
    _make_contiguous(graph, part)
    _fill_empty_parts(graph, weights, part, k, seed)
    return part


def _fill_empty_parts(
    graph: csr_matrix, weights: np.ndarray, part: np.ndarray, k: int, seed: int
) -> None:
    """Bisect the heaviest parts until there are ``k`` of them.

    On small or lumpy graphs contiguous METIS may leave parts empty (e.g. 9 of 11 asked
    for); numbering the parts densely then silently gives fewer, heavier grids that the band
    repair cannot bring down again."""
    count = int(part.max()) + 1 if len(part) else 0
    tried: set[int] = set()
    while count < k:
        loads = np.bincount(part, weights=np.maximum(weights, 0), minlength=count)
        order = [int(p) for p in np.argsort(-loads, kind="stable") if int(p) not in tried]
        split = False
        for p in order:
            members = np.flatnonzero(part == p)
            tried.add(p)
            if len(members) < 2:
                continue
            halves = _bisect(graph[members][:, members].tocsr(), weights[members], seed)
            if halves is not None:
                part[members[halves == 1]] = count
                count += 1
                tried.discard(p)
                split = True
                break
        if not split:
            return


def _bisect(sub: csr_matrix, weights: np.ndarray, seed: int) -> np.ndarray | None:
    """Two connected halves (0/1 per node) of a connected graph, or None."""
    opts = pymetis.Options(seed=seed, ufactor=30, niter=20, ncuts=2, contig=1)
    _cut, parts = pymetis.part_graph(
        2,
        pymetis.CSRAdjacency(sub.indptr.astype(np.int64), sub.indices.astype(np.int64)),
        vweights=np.maximum(weights, 0).astype(np.int64),
        eweights=np.maximum(1, np.round(sub.data * 10)).astype(np.int64),
        options=opts,
    )
    halves = np.asarray(parts, dtype=np.int64)
    if len(np.unique(halves)) != 2:
        return None
    _make_contiguous(sub, halves)
    return halves if len(np.unique(halves)) == 2 else None


def _make_contiguous(graph: csr_matrix, part: np.ndarray) -> None:
    """Give stray pieces of a part to the neighbouring part they touch most (rarely needed)."""
    for p in np.unique(part):
        members = np.flatnonzero(part == p)
        comps = _components(graph, set(members.tolist()))
        for comp in sorted(comps, key=len)[:-1]:
            touch: dict[int, float] = {}
            for v in comp:
                for j, w in _nbrs(graph, v):
                    if part[j] != p:
                        touch[int(part[j])] = touch.get(int(part[j]), 0.0) + w
            if touch:
                part[list(comp)] = max(touch, key=lambda q: touch[q])


def _nbrs(graph: csr_matrix, v: int) -> zip[tuple[int, float]]:
    s, e = graph.indptr[v], graph.indptr[v + 1]
    return zip(graph.indices[s:e].tolist(), graph.data[s:e].tolist(), strict=True)


def _components(graph: csr_matrix, nodes: set[int]) -> list[set[int]]:
    left, out = set(nodes), []
    while left:
        start = left.pop()
        comp, queue = {start}, deque([start])
        while queue:
            v = queue.popleft()
            for j in graph.indices[graph.indptr[v] : graph.indptr[v + 1]].tolist():
                if j in left:
                    left.discard(j)
                    comp.add(j)
                    queue.append(j)
        out.append(comp)
    return out


class Refiner:
    """Boundary moves between neighbouring parts that keep every part contiguous."""

    def __init__(
        self, graph: csr_matrix, weights: np.ndarray, part: np.ndarray, band: tuple[int, int]
    ) -> None:
        self.g, self.w, self.part = graph, weights.astype(np.int64), part
        self.lo, self.hi = band
        k = int(part.max()) + 1
        self.load = np.bincount(part, weights=self.w, minlength=k).astype(np.int64)
        self.members: list[set[int]] = [set() for _ in range(k)]
        for v, p in enumerate(part.tolist()):
            self.members[p].add(v)
        self.nb = [
            graph.indices[graph.indptr[v] : graph.indptr[v + 1]].tolist()
            for v in range(graph.shape[0])
        ]
        self.nw = [
            graph.data[graph.indptr[v] : graph.indptr[v + 1]].tolist()
            for v in range(graph.shape[0])
        ]

    def violation(self, load: int) -> int:
        return max(0, self.lo - load) + max(0, load - self.hi)

    def run(self) -> None:
        self.repair_band()
        for _ in range(REFINE_PASSES):
            if not self.refine_cut():
                break

    def stays_connected(self, v: int, p: int) -> bool:
        """Would part ``p`` stay connected (and non-empty) without node ``v``?"""
        members = self.members[p]
        if len(members) <= 1:
            return False
        inside = [j for j in self.nb[v] if j in members]
        if len(inside) <= 1:
            return True
        targets = set(inside[1:])
        seen, queue = {v, inside[0]}, deque([inside[0]])
        while queue and targets:
            x = queue.popleft()
            for j in self.nb[x]:
                if j in members and j not in seen:
                    seen.add(j)
                    targets.discard(j)
                    queue.append(j)
        return not targets

    def move(self, v: int, q: int) -> None:
        p = int(self.part[v])
        self.members[p].discard(v)
        self.members[q].add(v)
        self.part[v] = q
        self.load[p] -= self.w[v]
        self.load[q] += self.w[v]

    def gain(self, v: int, q: int) -> float:
        """Cut length saved by moving ``v`` into part ``q``."""
        p = self.part[v]
        return sum(
            w for j, w in zip(self.nb[v], self.nw[v], strict=True) if self.part[j] == q
        ) - sum(w for j, w in zip(self.nb[v], self.nw[v], strict=True) if self.part[j] == p)

    def _candidates(self, p: int) -> list[tuple[int, int]]:
        """(node, target part) for the boundary nodes of ``p`` and the outside nodes next to it."""
        out = []
        for v in self.members[p]:
            for j in self.nb[v]:
                q = int(self.part[j])
                if q != p:
                    out.append((v, q))
                    out.append((j, p))
        return out

    def repair_band(self) -> None:
        """Move boundary nodes while the total band violation strictly falls."""
        for _ in range(MAX_REPAIR_ROUNDS):
            bad = [p for p in range(len(self.load)) if self.violation(int(self.load[p]))]
            if not bad:
                return
            order = sorted(bad, key=lambda p: -self.violation(int(self.load[p])))
            if not any(self._best_move(p) for p in order) and not any(
                self._chain(p, CHAIN_DEPTH, {p}) or self._resplit(p) for p in order
            ):
                return

    def _resplit(self, p: int) -> bool:
        """Merge ``p`` with a neighbouring part and split the pair again with METIS."""
        neighbours = {int(self.part[j]) for v in self.members[p] for j in self.nb[v]} - {p}
        for q in sorted(neighbours):
            nodes = np.array(sorted(self.members[p] | self.members[q]))
            before = self.violation(int(self.load[p])) + self.violation(int(self.load[q]))
            sub = self.g[nodes][:, nodes].tocsr()
            first = [i for i, v in enumerate(nodes.tolist()) if v in self.members[p]]
            halves = self._grow_split(sub, self.w[nodes], before, first)
            if halves is not None:
                for v, h in zip(nodes.tolist(), halves.tolist(), strict=True):
                    if int(self.part[v]) != (p, q)[h]:
                        self.move(v, (p, q)[h])
                return True
        return False

    def _grow_split(
        self, sub: csr_matrix, w: np.ndarray, before: int, first: list[int]
    ) -> np.ndarray | None:
        """Split a small connected graph in two by growing a region from several seeds; the
        first split whose band violation is below ``before`` with both halves connected."""
        n = sub.shape[0]
        total = int(w.sum())
        spread = np.linspace(0, n - 1, min(n, RESPLIT_TRIES)).astype(int).tolist()
        for seed in first[:RESPLIT_TRIES] + spread:
            inside = np.zeros(n, dtype=bool)
            inside[seed] = True
            load = int(w[seed])
            pull = np.zeros(n)
            while load <= self.hi:
                after = self.violation(load) + self.violation(total - load)
                if after < before and load < total:
                    rest = set(np.flatnonzero(~inside).tolist())
                    if len(_components(sub, rest)) == 1:
                        return (~inside).astype(np.int64)
                row = slice(sub.indptr[seed], sub.indptr[seed + 1])
                pull[sub.indices[row]] += sub.data[row]
                frontier = np.flatnonzero((pull > 0) & ~inside & (w + load <= self.hi))
                if len(frontier) == 0:
                    break
                seed = int(frontier[np.argmax(pull[frontier])])
                inside[seed] = True
                load += int(w[seed])
        return None

    def _after(self, v: int, q: int) -> int:
        """Violation of the two parts involved after moving ``v`` into ``q``."""
        src, wv = int(self.part[v]), int(self.w[v])
        return self.violation(int(self.load[src]) - wv) + self.violation(int(self.load[q]) + wv)

    def cut(self) -> float:
        """Total weight of the edges between parts."""
        coo = self.g.tocoo()
        return float(coo.data[self.part[coo.row] != self.part[coo.col]].sum() / 2)

    def total_violation(self) -> int:
        load = self.load
        return int((np.maximum(0, self.lo - load) + np.maximum(0, load - self.hi)).sum())

    def _chain(self, p: int, depth: int, visited: set[int], baseline: int = -1) -> bool:
        """Ejection chain: shift a node across ``p``'s border (violation may stay), then fix
        the receiving (or giving) part recursively; undo unless the total violation falls."""
        before = baseline if baseline >= 0 else self.total_violation()
        over = self.load[p] > self.hi
        moves = [
            (v, q) if over else (v, p)
            for v, q in set(self._candidates(p))
            if (self.part[v] == p) == over and (q if over else int(self.part[v])) not in visited
        ]
        moves.sort(key=lambda m: (self._after(*m), -self.gain(*m), m))
        for v, q in moves[:CHAIN_WIDTH]:
            src = int(self.part[v])
            if not self.stays_connected(v, src):
                continue
            self.move(v, q)
            if self.total_violation() < before:
                return True
            other = q if over else src
            if depth > 1 and self._chain(other, depth - 1, visited | {other}, before):
                return True
            self.move(v, src)
        return False

    def _best_move(self, p: int) -> bool:
        best: tuple[float, float, int, int] | None = None
        for v, q in set(self._candidates(p)):
            src = int(self.part[v])
            wv = int(self.w[v])
            before = self.violation(int(self.load[src])) + self.violation(int(self.load[q]))
            after = self.violation(int(self.load[src]) - wv) + self.violation(
                int(self.load[q]) + wv
            )
            delta = after - before
            if delta >= 0:
                continue
            key = (delta, -self.gain(v, q), v, q)
            if (best is None or key < best) and self.stays_connected(v, src):
                best = key
        if best is None:
            return False
        self.move(best[2], best[3])
        return True

    def refine_cut(self) -> bool:
        """One pass of cut-shortening moves that keep both parts in the band (or no worse)."""
        improved = False
        boundary = [
            v
            for v in range(len(self.part))
            if any(self.part[j] != self.part[v] for j in self.nb[v])
        ]
        for v in boundary:
            p = int(self.part[v])
            wv = int(self.w[v])
            options = {int(self.part[j]) for j in self.nb[v]} - {p}
            for q in sorted(options, key=lambda q: -self.gain(v, q)):
                if self.gain(v, q) <= 1e-9:
                    break
                lp, lq = int(self.load[p]), int(self.load[q])
                worse = self.violation(lp - wv) > self.violation(lp) or self.violation(
                    lq + wv
                ) > self.violation(lq)
                if not worse and self.stays_connected(v, p):
                    self.move(v, q)
                    improved = True
                    break
        return improved

"""The partitioner gives as many parts as asked for, even where METIS leaves some empty."""

from __future__ import annotations

import numpy as np
import pymetis
import pytest
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import Delaunay

from civgrid.planning.partition import choose_count, partition

BAND = (300, 500)


def _lumpy_graph(seed: int) -> tuple[csr_matrix, np.ndarray]:
    """A planar graph of blocks and runs like the planner's coarse graph: lumpy households,
    one heavy block just inside the band."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(20, 80))
    tri = Delaunay(rng.random((n, 2))).simplices
    edges = {(int(t[a]), int(t[(a + 1) % 3])) for t in tri for a in range(3)}
    edges |= {(j, i) for i, j in edges}
    rows, cols = zip(*sorted(edges), strict=True)
    graph = csr_matrix((np.ones(len(rows)), (rows, cols)), (n, n))
    weights = rng.integers(0, 150, n)
    weights[0] = 430
    return graph, weights


def _metis_parts(graph: csr_matrix, weights: np.ndarray, k: int) -> int:
    opts = pymetis.Options(seed=0, ufactor=20, niter=20, ncuts=2, contig=1)
    _cut, parts = pymetis.part_graph(
        k,
        pymetis.CSRAdjacency(graph.indptr.astype(np.int64), graph.indices.astype(np.int64)),
        vweights=weights.astype(np.int64),
        eweights=np.full(len(graph.data), 10, dtype=np.int64),
        options=opts,
    )
    return len(set(parts))


@pytest.mark.parametrize("seed", [266, *range(8)])
def test_partition_gives_k_connected_parts(seed: int) -> None:
    graph, weights = _lumpy_graph(seed)
    k, feasible = choose_count(int(weights.sum()), BAND)
    assert feasible
    part = partition(graph, weights, k, BAND)
    assert sorted(set(part.tolist())) == list(range(k))  # none left empty
    for p in range(k):
        idx = np.flatnonzero(part == p)
        assert connected_components(graph[idx][:, idx], directed=False)[0] == 1
    loads = np.bincount(part, weights=weights)
    assert ((loads >= BAND[0]) & (loads <= BAND[1])).mean() >= 0.75


def test_the_case_where_metis_leaves_a_part_empty_is_covered() -> None:
    """Seed 266 is a graph where contiguous METIS returns fewer parts than asked for (with
    pymetis 2025.2); if a METIS release stops doing that, the test above still holds."""
    graph, weights = _lumpy_graph(266)
    k, _ = choose_count(int(weights.sum()), BAND)
    if _metis_parts(graph, weights, k) == k:
        pytest.skip("this METIS build fills every part here")
    assert len(set(partition(graph, weights, k, BAND).tolist())) == k

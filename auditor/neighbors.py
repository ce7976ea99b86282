"""Nearest neighbours over normalised vectors: exact in blocks (never an n×n matrix in memory) below
`ann_from` rows, past it an HNSW graph (faiss, inner product) whose candidates carry exact cosines.

The HNSW index is built on one thread, so a run's neighbours never depend on thread scheduling:
the same file gives the same report. Recall@10 against exact search on real embeddings is
measured by bench/scale_bench.py (≥ 0.98 with the defaults here).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

BLOCK_FLOATS = 16_000_000  # one block of similarities: 64 MB of float32
ANN_FROM = 50_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 128
HNSW_EF_MIN = 128


def block_rows(n_base: int) -> int:
    return int(min(4096, max(32, BLOCK_FLOATS // max(n_base, 1))))


@dataclass(frozen=True)
class NeighbourGraph:
    """Within one set: each row's k nearest other rows, and the pairs (i < j) among them at or above
    `min_similarity`."""

    index: np.ndarray  # (n, k) int32, -1 where fewer than k neighbours exist
    similarity: np.ndarray  # (n, k) float32, descending per row
    pair_i: np.ndarray
    pair_j: np.ndarray
    pair_similarity: np.ndarray
    min_similarity: float
    ann: Any = None  # the HNSW index over the vectors when the graph is approximate, else None


def _topk(sims: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    k_eff = min(k, sims.shape[1])
    if k_eff == 0:
        return np.empty((sims.shape[0], 0), np.int32), np.empty((sims.shape[0], 0), np.float32)
    part = np.argpartition(-sims, k_eff - 1, axis=1)[:, :k_eff]
    part_sims = np.take_along_axis(sims, part, axis=1)
    order = np.argsort(-part_sims, axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1).astype(np.int32), np.take_along_axis(part_sims, order, axis=1)


def _pad(index: np.ndarray, sims: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    missing = k - index.shape[1]
    if missing <= 0:
        return index, sims
    return (
        np.pad(index, ((0, 0), (0, missing)), constant_values=-1),
        np.pad(sims, ((0, 0), (0, missing)), constant_values=-np.inf).astype(np.float32),
    )


def hnsw_index(vectors: np.ndarray) -> Any:
    """An HNSW index (inner product) over `vectors`, built on one thread so that it is reproducible."""
    import faiss

    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        index = faiss.IndexHNSWFlat(vectors.shape[1], HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    finally:
        faiss.omp_set_num_threads(threads)
    return index


def ann_search(index: Any, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k best candidates per query from an HNSW index, descending, -1 / -inf where fewer exist."""
    k = min(k, index.ntotal)
    index.hnsw.efSearch = max(HNSW_EF_MIN, 2 * k)
    similarity, found = index.search(np.ascontiguousarray(queries, dtype=np.float32), k)
    similarity = np.where(found < 0, -np.inf, similarity).astype(np.float32)
    return found.astype(np.int32), similarity


def _self_excluded(found: np.ndarray, sims: np.ndarray, ids: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Drop each query's own id from its (k + 1) candidates, keeping the k best others, best first."""
    own = found == ids[:, None]
    sims = np.where(own | (found < 0), -np.inf, sims)
    keep = np.argsort(-sims, axis=1, kind="stable")[:, :k]
    found, sims = np.take_along_axis(found, keep, axis=1), np.take_along_axis(sims, keep, axis=1)
    return np.where(np.isfinite(sims), found, -1).astype(np.int32), sims.astype(np.float32)


def neighbour_graph(vectors: np.ndarray, k: int, min_similarity: float, ann_from: int = ANN_FROM) -> NeighbourGraph:
    """Top-k neighbours per row, and the pairs among them at or above `min_similarity` (at most n·k pairs).
    Exact below `ann_from` rows; approximate (HNSW) from there on."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    n = len(vectors)
    index = np.full((n, k), -1, np.int32)
    similarity = np.full((n, k), -np.inf, np.float32)
    ann = None
    if n >= max(ann_from, 2) and k > 0:
        ann = hnsw_index(vectors)
        for start in range(0, n, 65_536):
            stop = min(n, start + 65_536)
            found, sims = ann_search(ann, vectors[start:stop], k + 1)
            index[start:stop], similarity[start:stop] = _pad(*_self_excluded(found, sims, np.arange(start, stop), k), k)
    else:
        step = block_rows(n)
        for start in range(0, n, step):
            stop = min(n, start + step)
            sims = vectors[start:stop] @ vectors.T
            local = np.arange(stop - start)
            sims[local, local + start] = -np.inf
            index[start:stop], similarity[start:stop] = _pad(*_topk(sims, min(k, n - 1)), k)
    rows = np.repeat(np.arange(n, dtype=np.int64), k)
    cols = index.reshape(-1).astype(np.int64)
    sims = similarity.reshape(-1)
    keep = (cols >= 0) & (sims >= min_similarity)
    low, high = np.minimum(rows[keep], cols[keep]), np.maximum(rows[keep], cols[keep])
    keys, first = np.unique(low * max(n, 1) + high, return_index=True)
    return NeighbourGraph(
        index,
        similarity,
        (keys // max(n, 1)).astype(np.int32),
        (keys % max(n, 1)).astype(np.int32),
        sims[keep][first].astype(np.float32),
        float(min_similarity),
        ann,
    )


def exact_search(queries: np.ndarray, base: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k nearest base rows of each query by exact inner product (faiss's flat index: the same products as a
    matrix multiply, with a heap for the top k instead of a partition of every row), -1 / -inf where fewer exist."""
    import faiss

    index = faiss.IndexFlatIP(base.shape[1])
    index.add(np.ascontiguousarray(base, dtype=np.float32))
    k_eff = min(k, len(base))
    similarity, found = index.search(np.ascontiguousarray(queries, dtype=np.float32), k_eff)
    return _pad(found.astype(np.int32), np.where(found < 0, -np.inf, similarity).astype(np.float32), k)


def nearest(queries: np.ndarray, base: np.ndarray, k: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """For each query row, its k nearest base rows and their similarities (blocked over queries)."""
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    base = np.ascontiguousarray(base, dtype=np.float32)
    index = np.full((len(queries), k), -1, np.int32)
    similarity = np.full((len(queries), k), -np.inf, np.float32)
    if len(base) == 0:
        return index, similarity
    step = block_rows(len(base))
    for start in range(0, len(queries), step):
        stop = min(len(queries), start + step)
        sims = queries[start:stop] @ base.T
        if k == 1:
            best = sims.argmax(axis=1)
            index[start:stop, 0], similarity[start:stop, 0] = best, sims[np.arange(stop - start), best]
        else:
            index[start:stop], similarity[start:stop] = _pad(*_topk(sims, k), k)
    return index, similarity

"""Grouping embedded inputs: average-linkage clusters on a sample, the rest assigned to the nearest centroid.

Average linkage over cosine distance merges two groups while the mean similarity between their
members is at least `min_similarity`, so the number of clusters follows from the data. Above
`max_points` rows, a seeded sample is clustered (the linkage costs O(n²)) and every other row
joins the cluster whose centroid is nearest, when that centroid is at least `min_similarity` away.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from auditor.neighbors import nearest


@dataclass(frozen=True)
class Clusters:
    """`label[i]` is row i's cluster (0 = the largest), or -1 when it joined none; `centroids` are unit vectors."""

    label: np.ndarray
    centroids: np.ndarray

    def members(self, cluster: int) -> np.ndarray:
        return np.flatnonzero(self.label == cluster)

    def sizes(self) -> np.ndarray:
        return np.bincount(self.label[self.label >= 0], minlength=len(self.centroids))


def unit(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)


def _agglomerate(vectors: np.ndarray, min_similarity: float) -> np.ndarray:
    from sklearn.cluster import AgglomerativeClustering

    if len(vectors) < 2:
        return np.zeros(len(vectors), dtype=np.int64)
    model = AgglomerativeClustering(
        n_clusters=None, distance_threshold=1.0 - min_similarity, metric="cosine", linkage="average"
    )
    return model.fit_predict(vectors)


def cluster_vectors(vectors: np.ndarray, min_similarity: float, max_points: int, seed: int) -> Clusters:
    vectors = np.asarray(vectors, dtype=np.float32)
    n = len(vectors)
    if n == 0:
        return Clusters(
            np.empty(0, dtype=np.int64), np.empty((0, vectors.shape[1] if vectors.ndim == 2 else 0), np.float32)
        )
    sampled = (
        np.sort(np.random.default_rng(seed).choice(n, max_points, replace=False)) if n > max_points else np.arange(n)
    )
    sample_label = _agglomerate(vectors[sampled], min_similarity)
    n_clusters = int(sample_label.max()) + 1
    sums = np.zeros((n_clusters, vectors.shape[1]), dtype=np.float64)
    np.add.at(sums, sample_label, vectors[sampled])
    centroids = unit(sums)
    label = np.full(n, -1, dtype=np.int64)
    label[sampled] = sample_label
    rest = np.setdiff1d(np.arange(n), sampled, assume_unique=True)
    if len(rest):
        index, similarity = nearest(vectors[rest], centroids, 1)
        joins = similarity[:, 0] >= min_similarity
        label[rest[joins]] = index[joins, 0]
    order = np.argsort(-np.bincount(label[label >= 0], minlength=n_clusters), kind="stable")
    rank = np.empty(n_clusters, dtype=np.int64)
    rank[order] = np.arange(n_clusters)
    return Clusters(np.where(label >= 0, rank[np.maximum(label, 0)], -1), centroids[order])


def nearest_to_centroid(vectors: np.ndarray, centroid: np.ndarray, count: int) -> np.ndarray:
    """Positions of the `count` rows most similar to `centroid`, most similar first."""
    similarity = vectors @ centroid
    return np.argsort(-similarity, kind="stable")[:count]


def cohesion(vectors: np.ndarray, centroid: np.ndarray) -> float:
    """Mean cosine similarity of the members to their centroid."""
    return float((vectors @ centroid).mean()) if len(vectors) else 0.0

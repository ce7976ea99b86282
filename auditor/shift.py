"""Distribution shift between two embedded samples: a domain classifier's ROC AUC and a shared 2-D map."""

from __future__ import annotations

from typing import Any

import numpy as np

MIN_ROWS_PER_SIDE = 10


def _subsample(n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    return np.sort(rng.choice(n, size, replace=False)) if n > size else np.arange(n)


def domain_auc(first: np.ndarray, second: np.ndarray, per_side: int, folds: int, seed: int) -> float | None:
    """Cross-validated ROC AUC of a logistic regression telling `second` from `first` (0.5: indistinguishable).

    Each side is subsampled to `per_side` rows; None when a side has fewer than 10 rows.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    if min(len(first), len(second)) < MIN_ROWS_PER_SIDE:
        return None
    rng = np.random.default_rng(seed)
    a = first[_subsample(len(first), per_side, rng)]
    b = second[_subsample(len(second), per_side, rng)]
    features = np.vstack([a, b]).astype(np.float64)
    target = np.r_[np.zeros(len(a)), np.ones(len(b))]
    splits = StratifiedKFold(n_splits=min(folds, len(a), len(b)), shuffle=True, random_state=seed)
    scores = cross_val_predict(
        LogisticRegression(C=1.0, max_iter=200), features, target, cv=splits, method="decision_function"
    )
    return float(roc_auc_score(target, scores))


def projection(groups: list[np.ndarray], max_points: int, seed: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """A 2-D PCA of a sample of every group (at most `max_points` in all, shared out evenly).

    Returns, per group, the chosen row positions and their (n, 2) coordinates.
    """
    from sklearn.decomposition import PCA

    rng = np.random.default_rng(seed)
    quota = _quotas([len(g) for g in groups], max_points)
    chosen = [_subsample(len(g), q, rng) for g, q in zip(groups, quota)]
    stacked = np.vstack([g[c] for g, c in zip(groups, chosen)]) if any(len(c) for c in chosen) else np.empty((0, 2))
    if len(stacked) < 3:
        return chosen, [np.zeros((len(c), 2)) for c in chosen]
    coordinates = PCA(n_components=2, random_state=seed).fit_transform(stacked.astype(np.float64))
    bounds = np.cumsum([0] + [len(c) for c in chosen])
    return chosen, [coordinates[bounds[i] : bounds[i + 1]] for i in range(len(chosen))]


def _quotas(sizes: list[int], total: int) -> list[int]:
    """Split `total` evenly, smallest group first, giving what a small group cannot use to the others."""
    quota = [0] * len(sizes)
    left = total
    order = sorted(range(len(sizes)), key=sizes.__getitem__)
    for rank, position in enumerate(order):
        quota[position] = min(sizes[position], left // (len(order) - rank))
        left -= quota[position]
    return quota


def histogram(values: np.ndarray, bins: int) -> dict[str, Any]:
    """Counts of `values` (similarities, clipped to [0, 1]) in `bins` equal bins."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    counts, _ = np.histogram(np.clip(values, 0.0, 1.0), bins=edges)
    return {"bins": [round(float(e), 4) for e in edges], "counts": [int(c) for c in counts]}

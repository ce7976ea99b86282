"""Confident learning on sentence embeddings, without cleanlab.

Out-of-fold label probabilities come from two cheap models over the embeddings: a similarity-
weighted vote of each row's nearest neighbours (rows of the same duplicate group are one
neighbour, never their own evidence) and a shrinkage linear discriminant fitted in group-aware
folds (scikit-learn's GroupKFold), its scores calibrated by one softmax temperature. From those
probabilities, per-class thresholds (the mean probability a class's rows give their own label, at
least 1/K) build the confident joint; its off-diagonal count estimates how many labels are wrong,
and that many rows, lowest probability of their given label first, are suspected when the model
prefers another label (cleanlab's `low_self_confidence` filter with its default `off_diagonal`
count) and that label's probability reaches a fraction of its own threshold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

FLOOR = 1e-6


@dataclass(frozen=True)
class ModelParams:
    neighbours: int = 50
    temperature: float = 0.05
    neighbour_weight: float = 0.7
    shrinkage: float = 0.05
    folds: int = 10
    seed: int = 0


@dataclass(frozen=True)
class LabelIssues:
    suspected: np.ndarray  # bool per row
    predicted: np.ndarray  # most probable label per row
    score: np.ndarray  # 1 - probability of the given label
    thresholds: np.ndarray  # per-class confidence thresholds
    confident_joint: np.ndarray  # (given, confident guess) counts
    estimated_issues: int


def compact_groups(groups: Sequence[int] | np.ndarray) -> np.ndarray:
    """Group ids renumbered 0..g-1 in order of first appearance."""
    _, first, inverse = np.unique(np.asarray(groups), return_index=True, return_inverse=True)
    order = np.argsort(np.argsort(first))
    return order[inverse]


def rerank(queries: np.ndarray, base: np.ndarray, candidates: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k best of each row's candidate base rows by exact cosine (repeated candidates count once)."""
    candidates = np.sort(candidates, axis=1)
    repeated = np.zeros(candidates.shape, dtype=bool)
    repeated[:, 1:] = candidates[:, 1:] == candidates[:, :-1]
    index = np.full((len(queries), k), -1, np.int32)
    similarity = np.full((len(queries), k), -np.inf, np.float32)
    step = max(1, 8_000_000 // max(candidates.shape[1] * base.shape[1], 1))
    for start in range(0, len(queries), step):
        chosen = candidates[start : start + step]
        sims = np.einsum("ij,ikj->ik", queries[start : start + step], base[np.maximum(chosen, 0)])
        sims[(chosen < 0) | repeated[start : start + step]] = -np.inf
        keep = np.argsort(-sims, axis=1, kind="stable")[:, :k]
        best = np.take_along_axis(sims, keep, axis=1)
        found = np.take_along_axis(chosen, keep, axis=1)
        width = best.shape[1]
        index[start : start + step, :width] = np.where(np.isfinite(best), found, -1)
        similarity[start : start + step, :width] = best
    return index, similarity


def group_candidates(ann: Any, rep_rows: Sequence[int], groups: np.ndarray, vectors: np.ndarray, k: int) -> np.ndarray:
    """For each duplicate group (compacted ids), candidate neighbouring groups from an approximate index over
    the representatives (`rep_rows`: row positions of the indexed vectors): the groups of the representatives
    nearest to the group's first row, with room for representatives of one group appearing more than once."""
    from auditor.neighbors import ann_search

    first = np.unique(groups, return_index=True)[1]
    found, _ = ann_search(ann, vectors[first], k + 1 + CANDIDATE_SLACK)
    rows = np.asarray(rep_rows, dtype=np.int64)
    return np.where(found >= 0, groups[rows[np.maximum(found, 0)]], -1)


CANDIDATE_SLACK = 60


def neighbour_probabilities(
    vectors: np.ndarray,
    labels: np.ndarray,
    groups: np.ndarray,
    n_classes: int,
    params: ModelParams,
    candidates: np.ndarray | None = None,
) -> np.ndarray:
    """Vote of the k most similar other groups, weighted exp((cosine - 1) / temperature); a group votes
    with its label distribution, so a duplicated row is one voice and never votes for itself. Without
    `candidates` the k nearest groups are found exactly; with them (per group, candidate group ids from an
    approximate index) the best k of the candidates by exact cosine."""
    from auditor.neighbors import exact_search

    n_groups = int(groups.max()) + 1
    first = np.unique(groups, return_index=True)[1]
    histogram = np.zeros((n_groups, n_classes), dtype=np.float32)
    np.add.at(histogram, (groups, labels), 1.0)
    histogram /= histogram.sum(axis=1, keepdims=True)
    k = min(params.neighbours, n_groups - 1)
    votes = np.zeros((n_groups, n_classes), dtype=np.float32)
    if k > 0:
        heads = np.ascontiguousarray(vectors[first])
        if candidates is None:
            index, similarity = exact_search(heads, heads, k + 1)
        else:
            index, similarity = rerank(heads, heads, candidates, k + 1)
        own = index == np.arange(n_groups)[:, None]
        similarity = np.where(own | (index < 0), -np.inf, similarity)
        keep = np.argsort(-similarity, axis=1, kind="stable")[:, :k]
        index = np.take_along_axis(index, keep, axis=1)
        weight = np.exp((np.take_along_axis(similarity, keep, axis=1) - 1.0) / params.temperature)
        for column in range(k):
            votes += weight[:, column, None] * histogram[np.maximum(index[:, column], 0)]
    votes = votes[groups]
    votes += FLOOR
    votes /= votes.sum(axis=1, keepdims=True)
    return votes


CALIBRATION_ROWS = 20_000


def softmax(scores: np.ndarray, in_place: bool = False) -> np.ndarray:
    shifted = scores if in_place else scores.copy()
    shifted -= shifted.max(axis=1, keepdims=True)
    np.exp(shifted, out=shifted)
    shifted /= shifted.sum(axis=1, keepdims=True)
    return shifted


def calibrate(scores: np.ndarray, labels: np.ndarray, seed: int = 0) -> np.ndarray:
    """softmax(scores × t) with the t that minimises the log-loss of the given labels (t fitted on
    at most CALIBRATION_ROWS rows; one scalar needs no more)."""
    from scipy.optimize import minimize_scalar

    sample = np.arange(len(labels))
    if len(sample) > CALIBRATION_ROWS:
        sample = np.sort(np.random.default_rng(seed).choice(len(labels), CALIBRATION_ROWS, replace=False))
    part, part_labels = scores[sample].astype(np.float64), labels[sample]
    rows = np.arange(len(sample))

    def loss(log_t: float) -> float:
        return float(-np.log(softmax(part * np.exp(log_t))[rows, part_labels] + FLOOR).mean())

    best = minimize_scalar(loss, bounds=(-8.0, 4.0), method="bounded", options={"xatol": 1e-2})
    scores *= np.float32(np.exp(best.x))
    return softmax(scores, in_place=True)


def discriminant_probabilities(
    vectors: np.ndarray, labels: np.ndarray, groups: np.ndarray, n_classes: int, params: ModelParams
) -> np.ndarray:
    """Out-of-fold probabilities of a linear discriminant (pooled covariance shrunk towards a scaled identity,
    as scikit-learn's LDA with `shrinkage`); folds never split a duplicate group. Each fold's model is the
    full-data sums minus the fold's, so ten folds cost little more than one fit. Its small dense algebra runs
    on one BLAS thread: on a busy machine more threads only wait for each other."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, user_api="blas"):
        return _discriminant(vectors, labels, groups, n_classes, params)


def _discriminant(
    vectors: np.ndarray, labels: np.ndarray, groups: np.ndarray, n_classes: int, params: ModelParams
) -> np.ndarray:
    from scipy.sparse import csr_matrix
    from sklearn.model_selection import GroupKFold

    x = np.ascontiguousarray(vectors, dtype=np.float32)
    onehot = csr_matrix(
        (np.ones(len(labels), dtype=np.float32), (np.arange(len(labels)), labels)), shape=(len(labels), n_classes)
    )
    scatter = (x.T @ x).astype(np.float64)
    sums = np.asarray(onehot.T @ x, dtype=np.float64)
    counts = np.bincount(labels, minlength=n_classes).astype(np.float64)
    dim = x.shape[1]
    scores = np.full((len(labels), n_classes), -1e9, dtype=np.float32)
    folds = min(params.folds, int(groups.max()) + 1)
    if folds < 2:
        return np.full((len(labels), n_classes), 1.0 / n_classes)
    for train, held in GroupKFold(n_splits=folds, shuffle=True, random_state=params.seed).split(x, labels, groups):
        part, part_hot = x[held], onehot[held]
        n_k = counts - np.asarray(part_hot.sum(axis=0), dtype=np.float64).ravel()
        means = (sums - np.asarray(part_hot.T @ part, dtype=np.float64)) / np.maximum(n_k, 1)[:, None]
        within = scatter - (part.T @ part).astype(np.float64) - (means * n_k[:, None]).T @ means
        covariance = within / max(len(train) - np.count_nonzero(n_k), 1)
        covariance = (1 - params.shrinkage) * covariance + params.shrinkage * np.trace(covariance) / dim * np.eye(dim)
        coef = np.linalg.solve(covariance, means.T)
        present = n_k > 0
        fold_scores = part @ coef - 0.5 * np.sum(means.T * coef, axis=0) + np.log(np.maximum(n_k, 1) / len(train))
        scores[np.ix_(held, np.flatnonzero(present))] = fold_scores[:, present]
    return calibrate(scores, labels, params.seed)


def out_of_fold_probabilities(
    vectors: np.ndarray,
    labels: np.ndarray,
    groups: np.ndarray,
    n_classes: int,
    params: ModelParams,
    ann: Any = None,
    rep_rows: Sequence[int] = (),
) -> np.ndarray:
    """(n, n_classes) probabilities of every label for every row, each row held out of its own model. With
    `ann` (an approximate index over the rows `rep_rows`, one per distinct input) the neighbour vote draws its
    candidates from it instead of comparing every group with every other."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    groups = compact_groups(groups)
    weight = params.neighbour_weight
    candidates = None
    if ann is not None:
        candidates = group_candidates(ann, rep_rows, groups, vectors, min(params.neighbours, int(groups.max())))
    probabilities = neighbour_probabilities(vectors, labels, groups, n_classes, params, candidates)
    probabilities *= np.float32(weight)
    if weight < 1:
        discriminant = discriminant_probabilities(vectors, labels, groups, n_classes, params)
        discriminant *= np.float32(1 - weight)
        probabilities += discriminant
        del discriminant
    return probabilities


def find_label_issues(probabilities: np.ndarray, labels: np.ndarray, confident_fraction: float = 0.5) -> LabelIssues:
    """The estimated number of wrong labels, as the rows least confident in their given label, kept when the
    most probable label is another one whose probability reaches `confident_fraction` of its threshold."""
    n, n_classes = probabilities.shape
    rows = np.arange(n)
    self_confidence = probabilities[rows, labels]
    sums = np.bincount(labels, weights=self_confidence, minlength=n_classes)
    counts = np.bincount(labels, minlength=n_classes)
    thresholds = np.maximum(np.where(counts > 0, sums / np.maximum(counts, 1), 1.0), 1.0 / n_classes)
    guess = np.zeros(n, dtype=np.int64)
    has_guess = np.zeros(n, dtype=bool)
    for start in range(0, n, 8192):
        block = probabilities[start : start + 8192]
        confident = block >= thresholds - 1e-9
        guess[start : start + 8192] = np.where(confident, block, -1.0).argmax(axis=1)
        has_guess[start : start + 8192] = confident.any(axis=1)
    joint = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(joint, (labels[has_guess], guess[has_guess]), 1)
    estimated = int(joint.sum() - np.trace(joint))
    score = 1.0 - self_confidence
    predicted = probabilities.argmax(axis=1)
    suspected = np.zeros(n, dtype=bool)
    suspected[np.argsort(-score, kind="stable")[:estimated]] = True
    suspected &= (predicted != labels) & (probabilities[rows, predicted] >= confident_fraction * thresholds[predicted])
    return LabelIssues(suspected, predicted, score, thresholds, joint, estimated)


def learning_curve(
    vectors: np.ndarray,
    labels: np.ndarray,
    groups: np.ndarray,
    n_classes: int,
    params: ModelParams,
    fractions: Sequence[float],
    full: np.ndarray | None = None,
    max_groups: int = 0,
) -> dict[str, float]:
    """Out-of-fold accuracy when only a random share of the duplicate groups is available. With `max_groups`
    (> 0) and more groups than that, the curve is drawn on a seeded sample of `max_groups` groups (its last
    step then refits on the sample rather than reusing `full`), so its cost stops growing with the set."""
    groups = compact_groups(groups)
    order = np.random.default_rng(params.seed).permutation(int(groups.max()) + 1)
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    total = len(order)
    if 0 < max_groups < total:
        total, full = max_groups, None
    curve = {}
    for fraction in fractions:
        chosen = rank[groups] < max(2, int(round(fraction * total)))
        if fraction >= 1 and full is not None:
            probabilities = full
        else:
            probabilities = out_of_fold_probabilities(
                vectors[chosen], labels[chosen], groups[chosen], n_classes, params
            )
        curve[str(fraction)] = round(float((probabilities.argmax(axis=1) == labels[chosen]).mean()), 4)
    return curve

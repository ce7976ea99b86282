"""Coverage scores: how typical a production input is of what the training set teaches.

Two scores per input, each read as a percentile among the training rows' own leave-one-out scores:
- the cosine similarity to the nearest training input (a training row: to its nearest *other* one);
- relative Mahalanobis distance (Ren et al. 2021): class Gaussians with one shared, shrunk covariance,
  minus a single background Gaussian over all training inputs; the smallest class distance wins.
  A training row is scored with itself left out of its class mean (with ≥ 10 rows per dimension) or
  by Gaussians fitted without its fold (fewer rows: an in-sample covariance would flatter it).
A row farther from every class than 99% of the training rows (plain Mahalanobis distance to the
nearest class) takes that percentile instead of the relative one when lower: far from every class,
the relative distance cancels out. The weighted mean of the two percentiles, again read as a
percentile among the training rows' fused scores, is the
coverage score: about uniform on [0, 1] for inputs drawn like training, near 0 for inputs unlike
any class. Sets without labels use k-means clusters of their inputs as stand-in classes, with k
chosen by the silhouette of a sample. Nothing here depends on the embedding model's similarity
scale: every comparison is against the training set's own scores.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from auditor.neighbors import nearest


@dataclass(frozen=True)
class Gaussians:
    means: np.ndarray  # (C, d)
    precision: np.ndarray  # (d, d), shared by the classes
    counts: np.ndarray  # (C,)
    background_mean: np.ndarray
    background_precision: np.ndarray
    shrinkage: tuple[float, float]  # Ledoit-Wolf intensities of the class and the background covariance


@dataclass(frozen=True)
class Reference:
    """The training rows' own leave-one-out scores, sorted, and the fusion weight."""

    cosine: np.ndarray
    mahalanobis: np.ndarray  # relative
    plain: np.ndarray  # plain Mahalanobis to the nearest class
    fused: np.ndarray
    weight: float  # weight of the Mahalanobis percentile; the cosine percentile gets 1 - weight
    far: float  # below this percentile of plain Mahalanobis distance a row is far from every class


@dataclass(frozen=True)
class Scores:
    coverage: np.ndarray  # fused percentile in [0, 1]
    cosine: np.ndarray  # nearest-training similarity
    nearest_class: np.ndarray  # class with the smallest Mahalanobis distance


def _shrunk_precision(residuals: np.ndarray, shrinkage: float | None) -> tuple[np.ndarray, float]:
    """Precision of the Ledoit-Wolf shrunk covariance of centred rows (the intensity computed unless given)."""
    from sklearn.covariance import ledoit_wolf_shrinkage

    if shrinkage is None:
        shrinkage = float(ledoit_wolf_shrinkage(residuals, assume_centered=True))
    empirical = residuals.T @ residuals / max(1, len(residuals))
    dimensions = empirical.shape[0]
    covariance = (1.0 - shrinkage) * empirical
    covariance.flat[:: dimensions + 1] += shrinkage * max(float(np.trace(empirical)) / dimensions, 1e-12)
    return np.linalg.inv(covariance), shrinkage


def fit_gaussians(
    vectors: np.ndarray, classes: np.ndarray, n_classes: int = 0, shrinkage: tuple[float, float] | None = None
) -> Gaussians:
    """Class means, a Ledoit-Wolf shrunk shared covariance, and the background Gaussian; classes are 0..C-1
    (a class with no row here never wins). `shrinkage` reuses intensities found on a larger set."""
    x = np.asarray(vectors, dtype=np.float64)
    count = np.bincount(classes, minlength=max(n_classes, int(classes.max()) + 1 if len(classes) else 0))
    sums = np.zeros((len(count), x.shape[1]))
    np.add.at(sums, classes, x)
    means = sums / np.maximum(count, 1)[:, None]
    mean = x.mean(axis=0)
    within, within_shrinkage = _shrunk_precision(x - means[classes], shrinkage[0] if shrinkage else None)
    background, background_shrinkage = _shrunk_precision(x - mean, shrinkage[1] if shrinkage else None)
    return Gaussians(means, within, count, mean, background, (within_shrinkage, background_shrinkage))


def _squared_distances(x: np.ndarray, means: np.ndarray, precision: np.ndarray) -> np.ndarray:
    projected = x @ precision
    return (
        (projected * x).sum(axis=1)[:, None]
        - 2.0 * projected @ means.T
        + ((means @ precision) * means).sum(axis=1)[None, :]
    )


def mahalanobis_scores(
    model: Gaussians, vectors: np.ndarray, own: np.ndarray | None = None, block: int = 4096
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(minus the relative Mahalanobis distance, minus the plain one, nearest class) per row: higher is more typical.

    With `own` (the rows' classes, when they are training rows) each row's distance to its own class uses the
    class mean without the row: (n/(n-1))² times the distance to the full mean; a class of one is skipped.
    """
    score = np.empty(len(vectors))
    plain = np.empty(len(vectors))
    best = np.empty(len(vectors), dtype=np.int64)
    for start in range(0, len(vectors), block):
        x = np.asarray(vectors[start : start + block], dtype=np.float64)
        distances = _squared_distances(x, model.means, model.precision)
        distances[:, model.counts == 0] = np.inf
        if own is not None:
            mine = own[start : start + block]
            n = model.counts[mine].astype(np.float64)
            distances[np.arange(len(x)), mine] *= np.where(n > 1, (n / np.maximum(n - 1, 1)) ** 2, np.inf)
        centred = x - model.background_mean
        background = ((centred @ model.background_precision) * centred).sum(axis=1)
        best[start : start + block] = distances.argmin(axis=1)
        score[start : start + block] = background - distances.min(axis=1)
        plain[start : start + block] = -distances.min(axis=1)
    return score, plain, best


IN_SAMPLE_ROWS_PER_DIMENSION = 10


def in_sample_enough(vectors: np.ndarray) -> bool:
    return len(vectors) >= IN_SAMPLE_ROWS_PER_DIMENSION * vectors.shape[1]


def cross_fitted_mahalanobis(
    vectors: np.ndarray,
    classes: np.ndarray,
    n_classes: int,
    shrinkage: tuple[float, float] | None = None,
    in_sample: bool | None = None,
    folds: int = 5,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Each training row's own score. With fewer than 10 rows per dimension, from Gaussians fitted without its
    fold (the covariance is estimated from the rows themselves: in-sample it would flatter them against new
    inputs); with more, in-sample with the row left out of its class mean (the covariance barely moves)."""
    if in_sample is None:
        in_sample = in_sample_enough(vectors)
    if in_sample:
        model = fit_gaussians(vectors, classes, n_classes, shrinkage)
        relative, plain, _ = mahalanobis_scores(model, vectors, classes)
        return relative, plain
    fold = np.random.default_rng(seed).permutation(len(vectors)) % folds
    relative, plain = np.empty(len(vectors)), np.empty(len(vectors))
    for k in range(min(folds, len(vectors))):
        held = fold == k
        if held.all():
            continue
        model = fit_gaussians(vectors[~held], classes[~held], n_classes, shrinkage)
        relative[held], plain[held], _ = mahalanobis_scores(model, vectors[held])
    return relative, plain


def percentile(reference: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Share of the (sorted) reference at or below each value."""
    return np.searchsorted(reference, values, side="right") / max(1, len(reference))


def leave_one_out_cosine(vectors: np.ndarray) -> np.ndarray:
    """Each row's similarity to its nearest other row (-1 with a single row)."""
    if len(vectors) < 2:
        return np.full(len(vectors), -1.0)
    index, similarity = nearest(vectors, vectors, 2)
    self_first = index[:, 0] == np.arange(len(vectors))
    return np.where(self_first, similarity[:, 1], similarity[:, 0])


def build_reference(
    vectors: np.ndarray,
    classes: np.ndarray,
    loo_cosine: np.ndarray,
    weight: float,
    far: float = 0.01,
    shrinkage: tuple[float, float] | None = None,
    in_sample: bool | None = None,
) -> tuple[Reference, Gaussians, np.ndarray]:
    """The reference, the Gaussians, and each training row's own leave-one-out coverage score."""
    model = fit_gaussians(vectors, classes, 0, shrinkage)
    if in_sample_enough(vectors) if in_sample is None else in_sample:
        relative, plain, _ = mahalanobis_scores(model, vectors, classes)
    else:
        relative, plain = cross_fitted_mahalanobis(vectors, classes, len(model.counts), shrinkage, False)
    partial = Reference(np.sort(loo_cosine), np.sort(relative), np.sort(plain), np.empty(0), weight, far)
    fused = _fuse(partial, loo_cosine, relative, plain)
    ordered = np.sort(fused)
    whole = Reference(partial.cosine, partial.mahalanobis, partial.plain, ordered, weight, far)
    return whole, model, percentile(ordered, fused)


def _fuse(reference: Reference, cosine: np.ndarray, relative: np.ndarray, plain: np.ndarray) -> np.ndarray:
    """Weighted mean of the cosine and the relative Mahalanobis percentiles. A row farther from every class than
    all but `far` of the training rows (plain Mahalanobis) takes that percentile when lower: far from every
    class, the class and background distances grow together and the relative one cancels out."""
    near, distant = percentile(reference.mahalanobis, relative), percentile(reference.plain, plain)
    mahalanobis = np.where(distant > reference.far, near, np.minimum(near, distant))
    return (1 - reference.weight) * percentile(reference.cosine, cosine) + reference.weight * mahalanobis


def score(reference: Reference, model: Gaussians, vectors: np.ndarray, cosine: np.ndarray) -> Scores:
    relative, plain, best = mahalanobis_scores(model, vectors)
    return Scores(percentile(reference.fused, _fuse(reference, cosine, relative, plain)), cosine, best)


def choose_k(vectors: np.ndarray, seed: int, sample: int = 2000) -> tuple[int, dict[int, float]]:
    """k for stand-in classes: the best cosine silhouette of k-means on a sample, k = 2, 4, 8, … ≤ √n (n: all rows)."""
    from sklearn.metrics import silhouette_score

    n = len(vectors)
    if n < 8:
        return 1, {}
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(n, sample, replace=False)) if n > sample else np.arange(n)
    x = vectors[rows]
    table: dict[int, float] = {}
    k = 2
    while k <= max(2, int(np.sqrt(n))) and k < len(x) // 4:
        labels = kmeans(x, k, seed)
        if len(np.unique(labels)) > 1:
            table[k] = round(float(silhouette_score(x, labels, metric="cosine", random_state=seed)), 4)
        k *= 2
    return (max(table, key=table.__getitem__) if table else 1), table


def kmeans(vectors: np.ndarray, k: int, seed: int) -> np.ndarray:
    from sklearn.cluster import KMeans, MiniBatchKMeans

    if k <= 1 or len(vectors) <= k:
        return np.zeros(len(vectors), dtype=np.int64)
    model = (
        KMeans(k, n_init=1, random_state=seed)
        if len(vectors) <= 20_000
        else MiniBatchKMeans(k, n_init=3, random_state=seed, batch_size=4096)
    )
    return model.fit_predict(np.asarray(vectors, dtype=np.float32)).astype(np.int64)


@dataclass(frozen=True)
class Calibration:
    """The rule's own error on the training set: held-out rows of seen classes (in) and of held-out classes (out)."""

    covered_in: float  # share of held-out rows of seen classes called covered (the rule's sensitivity)
    covered_out: float  # share of rows of held-out classes called covered (its false coverage)
    rows_in: int
    rows_out: int
    folds: int
    se_in: float = 0.0  # standard errors clustered by class: rows of one class succeed or fail together
    se_out: float = 0.0


def clustered_share(hits: np.ndarray, rows: np.ndarray) -> tuple[float, float]:
    """A share over rows grouped in classes (hits and rows per class) and its class-clustered standard error."""
    total = rows.sum()
    if total == 0:
        return 0.0, 0.0
    share = float(hits.sum() / total)
    used = rows > 0
    groups = int(used.sum())
    if groups < 2:
        return share, float(np.sqrt(share * (1 - share) / total))
    residual = hits[used] - share * rows[used]
    return share, float(np.sqrt(groups / (groups - 1) * (residual**2).sum()) / total)


def calibrate(
    vectors: np.ndarray,
    classes: np.ndarray,
    level: float,
    weight: float,
    far: float,
    folds: int,
    sample: int,
    seed: int,
    shrinkage: tuple[float, float] | None = None,
) -> Calibration | None:
    """Hold out classes (and a share of the other rows) fold by fold, rebuild the rule, count what it covers.

    The rebuilt reference is scored as the whole set is (in-sample when the whole set has ≥ 10 rows per
    dimension). Being smaller, it is flattered more by that, so held-out rows of seen classes read less
    typical than the whole rule would find exchangeable rows (on CLINC150: 0.84–0.88 covered, not 0.95) —
    close to what separately collected production reads (CLINC150's test queries: 0.90–0.91).

    With fewer than four classes of two rows or more only rows are held out (`rows_out` is 0);
    None when there are too few rows for `folds` folds.
    """
    rng = np.random.default_rng(seed)
    n = len(vectors)
    in_sample = in_sample_enough(vectors)  # the reference rows are scored the way the whole set's rows are
    rows = np.sort(rng.choice(n, sample, replace=False)) if n > sample else np.arange(n)
    x, y = vectors[rows], classes[rows]
    if len(x) < 4 * folds:
        return None
    present = np.flatnonzero(np.bincount(y) >= 2)
    class_folds = min(folds, len(present) // 2)
    group = np.full(int(y.max()) + 1, -1)
    if class_folds >= 2:
        group[rng.permutation(present)] = np.arange(len(present)) % class_folds
    classes_count = int(y.max()) + 1
    hits = {True: np.zeros(classes_count), False: np.zeros(classes_count)}
    tried = {True: np.zeros(classes_count), False: np.zeros(classes_count)}
    for fold in range(folds):
        out = group[y] == fold
        pool = np.flatnonzero(~out)
        held = np.zeros(len(x), dtype=bool)
        held[rng.choice(pool, max(1, len(pool) // folds), replace=False)] = True
        reference_rows = ~out & ~held
        _, remapped = np.unique(y[reference_rows], return_inverse=True)
        base = x[reference_rows]
        reference, model, _ = build_reference(
            base, remapped, leave_one_out_cosine(base), weight if remapped.max() > 0 else 0.0, far, shrinkage, in_sample
        )
        for mask, is_in in ((held, True), (out, False)):
            if not mask.any():
                continue
            _, cosine = nearest(x[mask], base, 1)
            covered = score(reference, model, x[mask], cosine[:, 0]).coverage > level
            np.add.at(hits[is_in], y[mask], covered)
            np.add.at(tried[is_in], y[mask], 1)
    covered_in, se_in = clustered_share(hits[True], tried[True])
    covered_out, se_out = clustered_share(hits[False], tried[False])
    return Calibration(covered_in, covered_out, int(tried[True].sum()), int(tried[False].sum()), folds, se_in, se_out)


def informative(calibration: Calibration | None) -> bool:
    """Whether held-out classes tell the rule's false coverage: they are covered at most half as often as held-out
    rows of seen classes (stand-in clusters of a generative set often overlap so much that they are not)."""
    return (
        calibration is not None and calibration.rows_out > 0 and calibration.covered_out <= calibration.covered_in / 2
    )


def interval(covered: int, trials: int, calibration: Calibration | None) -> tuple[float, float]:
    """95% interval of the true covered share: the Wilson interval of the share called covered, widened by
    the rule's error. A truly covered input is called covered with probability `covered_in`, an uncovered
    one with at most `covered_out` (a held-out class's rate: the hardest case, unseen siblings of seen
    classes), so true share π gives called share π·in + (1 − π)·out; π is bounded by solving at the Wilson
    bounds with out = covered_out (low end) and out = 0 (high end), `in` and `out` themselves taken at
    their own 95% bounds, with standard errors clustered by class (the rule errs class by class, so the
    classes, not the rows, are the independent draws). When held-out classes are not told apart
    (`informative` is false) only the high end is widened."""
    from auditor.intervals import Z95, wilson

    low, high = wilson(covered, trials)
    if calibration is None:
        return low, high
    sensitivity_low = max(0.0, calibration.covered_in - Z95 * calibration.se_in)
    sensitivity_high = min(1.0, calibration.covered_in + Z95 * calibration.se_in)
    false_rate = min(1.0, calibration.covered_out + Z95 * calibration.se_out) if informative(calibration) else 0.0
    share = covered / trials if trials else 0.0
    lower = (low - false_rate) / (sensitivity_high - false_rate) if sensitivity_high > false_rate else 0.0
    upper = high / sensitivity_low if sensitivity_low > 0 else 1.0
    return max(0.0, min(lower, low, share)), min(1.0, max(upper, high, share))

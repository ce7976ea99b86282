"""Coverage: how much of real production traffic the training set teaches, and what is missing.

What it checks
  With --production FILE (any supported format, its input side, or a .txt file with one input
  per line), a seeded uniform sample of `sample` production rows is drawn first and only those are
  embedded (the duplicates check compares every row by exact hash). Each sampled input gets a
  coverage score in [0, 1] from two scores, each read as a percentile among the training rows' own
  leave-one-out scores: the cosine similarity to the nearest training input, and the relative
  Mahalanobis distance (class Gaussians with one shared Ledoit-Wolf covariance, minus one
  background Gaussian; an input farther from every class than all but `far_quantile` of the
  training rows takes its plain Mahalanobis percentile instead when lower). Classes are the labels
  of a classification set; generative and preference sets use k-means clusters of the training
  inputs as stand-ins, with k the best cosine silhouette on a sample (k = 2, 4, 8, … ≤ √n, n rows).
  The two percentiles are averaged (weight `mahalanobis_weight` on the Mahalanobis one) and the
  average is read once more as a percentile among the training rows' averages. So inputs drawn
  like the training set score about uniformly on [0, 1] whatever the embedding model's similarity
  scale; an input is covered when its score is above `threshold_quantile` (the rule: at least as
  typical as all but the least typical 5% of training rows are of the rest). Coverage is the share
  of sampled inputs covered. `nearest_train_similarity` per row is kept; `threshold` reports the
  nearest-training similarity at the rule's quantile (the histogram's marker).
  The interval combines sampling noise with the rule's own error, measured on the training set:
  `calibration_folds` times, 1/folds of the classes (labels or stand-ins) and 1/folds of the other
  rows are held out, the rule is rebuilt on the rest, and the shares it calls covered are counted —
  of held-out rows of seen classes (its sensitivity s) and of held-out classes (its false coverage f,
  the hardest case: unseen siblings of seen classes), each with a standard error clustered by class
  (the rule errs class by class). A true share π is called covered at π·s + (1 − π)·f, so the low
  end solves that at the Wilson interval's low end with f and s at their upper 95% bounds, the high
  end at its high end with f = 0 and s at its lower bound. When held-out classes are covered more
  than half as often as seen rows (overlapping stand-in clusters), f is left out of the low end.
  The rebuilt rule's reference is a fifth smaller than the whole set's and is scored the same way,
  so s reads lower than the rule's 0.95 on rows drawn exactly like training (CLINC150: 0.84–0.88),
  near what separately collected production reads (CLINC150's test queries: 0.90–0.91); that
  widens the high end. Production drawn differently from training in ways the training set cannot
  show is otherwise outside what the interval accounts for.
  The uncovered inputs are clustered (average linkage over cosine distance: groups merge while
  their mean similarity is at least `threshold` − `cluster_margin`). A cluster is reported when it
  is larger than `min_cluster_size` and than the largest cluster that the training set's own
  outliers (training rows whose nearest other one is below `threshold`), drawn in the number expected
  among the sampled rows, form by chance; and when its members are closer to their centroid than
  the nearest training input is. For each: its size and share of traffic, the 3 inputs nearest its
  centroid, the nearest training example, the training label (or stand-in cluster) most of its
  inputs are nearest to, whether it looks like a sibling of that label (its centroid as close to
  the label's mean as the training set's neighbouring labels are to each other: "looks like
  `timezone` but is not covered by it"), and how many examples to collect (its share of traffic ×
  the training set's size, at least `min_examples_per_cluster`).
  Also: training clusters with no production input within `threshold` (effort on traffic that does
  not occur), and a domain classifier (logistic regression on the embeddings, train vs production,
  cross-validated) whose ROC AUC says how easily the two sets are told apart (0.5: not at all).
  Without --production the check is skipped: coverage of real traffic is then unknown.

Why it matters
  A fine-tuned model is only as good as the examples it saw for the inputs it gets. Production
  inputs with no similar training example are where it will guess; the clusters say which kinds
  of inputs to collect examples for, and how many. A label-aware score matters because the
  realistic gap is not a new topic but a missing sibling intent ("what time is it in Tokyo" when
  the set teaches `time` but not `timezone`): nearest-neighbour similarity alone calls those covered.

Failing example
  support_production.jsonl: 86% of 150 inputs covered (95% CI 80–91%); clusters: 5 inputs like
  "¿Cómo puedo rastrear un envío que viene desde Madrid?" (lines 10, 38, 78, 84, 122) and 5 like
  "Hallo, wo ist mein Paket?" (lines 4, 17, 58, 65, 75), unlike any training class — collect ~10
  examples like each.

How to fix
  Collect and label examples like those in each uncovered cluster (the findings list them with
  their production lines and the label they resemble), or scope the fine-tuned model so those
  inputs go elsewhere. Training regions no production input comes near can be trimmed or kept as
  deliberate extra coverage.

Calibration (bench/coverage_bench.py, all-MiniLM-L6-v2; numbers in bench/RESULTS.md)
  CLINC150, true covered share 0.50, seeds 0/1/2. Random intents (60 seen; production: their 1,800
  test queries, 900 of 30 unseen intents, 900 out-of-scope): ROC AUC of coverage_score 0.972 / 0.944 /
  0.968 (nearest similarity alone 0.950 / 0.916 / 0.944), coverage 0.484 / 0.531 / 0.499, intervals
  0.38–0.60 / 0.36–0.65 / 0.42–0.63. Five of ten domains (75 intents; production 2,250 in-scope,
  1,250 other-domain, 1,000 out-of-scope): AUC 0.972 / 0.980 / 0.989, coverage 0.485 / 0.479 /
  0.462, intervals 0.19–0.61 / 0.29–0.59 / 0.29–0.60. The same with all-mpnet-base-v2 (768-d, its
  own similarity scale; no setting changed): random AUC 0.975 / 0.955 / 0.974, coverage 0.484 /
  0.524 / 0.499; domains AUC 0.972 / 0.981 / 0.991, coverage 0.492 / 0.477 / 0.462; the truth
  inside every interval for both models. Uncovered clusters name e.g. `credit_limit` for unseen
  `apr` queries (a sibling) and `transfer` for `direct_deposit`.
  GSM8K train (7,473, no labels: 2 stand-in clusters by silhouette): 95.5% of its 1,319 test
  questions covered; 0.7% of 1,000 CLINC queries; test + 252 self-instruct + 500 CLINC: AUC 0.997,
  coverage 0.609 for a true 0.637; with k fixed at 4 / 16 / 64: 0.609 / 0.606 / 0.600. The random
  CLINC split with its labels hidden: k = 64 chosen, AUC 0.971, coverage 0.489; k = 16: 0.937,
  0.542; k = 4: 0.768, 0.668 (too few stand-ins blur sibling intents: the silhouette's choice matters).
  Why these settings: relative Mahalanobis alone separates CLINC best (AUC 0.96–0.98) but with few
  stand-in classes it cancels out far from every class (GSM8K against CLINC: AUC 0.27), hence the
  plain-distance fallback below the 1% quantile; the 0.3 / 0.7 weights beat 0.5 / 0.5 on the random
  splits (minimum AUC 0.955 vs 0.950 on a first draw). On sample_data (200 unlabelled chat rows, 40
  of 150 production messages off-topic) the rule is lenient: 86% covered; the language groups are
  reported. 10,000 × 10,000 rows after embedding: 2.7–3.8 s with the neighbour graph shared, 3.7–5.6 s
  building it (2 busy cores); production is sampled before embedding, so a 1,000,000-line file took
  26 s in all (bench/coverage_scale.py: reading 19 s, hashing every input 2 s, the check 5 s).

Config ([coverage] in ftaudit.toml)
  threshold = 0.0             a fixed nearest-training similarity τ instead of the calibrated rule (0: calibrated)
  threshold_quantile = 0.05   covered when the coverage score is above this (the training rows' own quantile)
  mahalanobis_weight = 0.7    weight of the Mahalanobis percentile in the score (the cosine one gets the rest)
  far_quantile = 0.01         below this plain-Mahalanobis percentile an input counts as far from every class
  stand_in_clusters = 0       k of the k-means stand-in classes of unlabelled sets (0: chosen by silhouette)
  calibration_folds = 5       folds of held-out classes that measure the rule's own error
  calibration_sample = 2500   training rows used to measure it
  sample = 10000              production rows drawn (seeded) and embedded; the rest are only hashed
  seed = 0                    seed for every sample this check draws
  min_coverage = 0.8          below this coverage the check fails
  target_coverage = 0.9       below this coverage the check warns
  cluster_margin = 0.2        clusters merge while their mean similarity is at least threshold − this
  cluster_sample = 2000       at most this many rows are clustered; the rest join the nearest centroid
  min_cluster_size = 3        smallest reported cluster (the chance size can raise it)
  chance_draws = 5            draws of training outliers that set the chance cluster size
  max_clusters = 20           clusters listed per kind (the rest are counted)
  min_examples_per_cluster = 10  fewest examples suggested for an uncovered cluster
  domain_sample = 1000        rows per side for the domain classifier
  domain_folds = 5            cross-validation folds of the domain classifier
  max_domain_auc = 0.8        above this domain AUC an info finding notes the shift
  map_points = 1500           points in the 2-D map (metrics `map`, for the scorecard)
  histogram_bins = 20         bins of the nearest-similarity histogram (metrics `similarity_histogram`)

Codes
  COV001 coverage below the minimum · COV002 coverage below the target
  COV003 uncovered cluster of production inputs · COV004 uncovered inputs outside any cluster
  COV005 production distinguishable from training · COV006 training region with no production inputs
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from auditor.evidence import CoverageEvidence, UncoveredCluster
from auditor.results import CheckResult, Finding
from auditor.text import snippet

if TYPE_CHECKING:
    from auditor.context import AuditContext

ID = "coverage"
FAMILY = "COV"
CODES = {
    "COV001": "production coverage below the minimum",
    "COV002": "production coverage below the target",
    "COV003": "uncovered cluster of production inputs",
    "COV004": "uncovered production inputs outside any cluster",
    "COV005": "production inputs distinguishable from training (domain shift)",
    "COV006": "training region with no production inputs near it",
}
DEFAULTS: dict[str, Any] = {
    "threshold": 0.0,
    "threshold_quantile": 0.05,
    "mahalanobis_weight": 0.7,
    "far_quantile": 0.01,
    "stand_in_clusters": 0,
    "calibration_folds": 5,
    "calibration_sample": 2500,
    "sample": 10_000,
    "seed": 0,
    "min_coverage": 0.8,
    "target_coverage": 0.9,
    "cluster_margin": 0.2,
    "cluster_sample": 2000,
    "min_cluster_size": 3,
    "chance_draws": 5,
    "max_clusters": 20,
    "min_examples_per_cluster": 10,
    "domain_sample": 1000,
    "domain_folds": 5,
    "max_domain_auc": 0.8,
    "map_points": 1500,
    "histogram_bins": 20,
}
SNIPPET = 80
EXCERPT = 500
EXAMPLES = 3
NO_PRODUCTION = (
    "no production inputs given: coverage of real traffic is unknown; pass --production FILE "
    "(any supported format, or a .txt file with one input per line) to measure it"
)


@dataclass(frozen=True)
class Matched:
    """The matched production rows (a sample when there are many) and their nearest training inputs."""

    lines: list[int]  # production line of each matched row
    texts: list[str]
    vectors: Any  # (n, d) production embeddings
    nearest_rep: Any  # (n,) index into the training representatives
    similarity: Any  # (n,) cosine similarity to that representative
    score: Any  # (n,) coverage score in [0, 1]
    nearest_class: Any  # (n,) index into Training.class_names
    covered: Any  # (n,) bool
    production_rows: int  # valid production rows before sampling


@dataclass(frozen=True)
class Training:
    lines: list[int]  # line of each representative (distinct training input)
    texts: list[str]
    vectors: Any  # (n_reps, d)
    rows_of_rep: list[list[int]]  # every training line whose input each representative stands for
    valid_rows: int
    spacing: Any  # (n_reps,) similarity of each representative to its nearest other one (-1: none)
    classes: Any  # (n_reps,) class (label or stand-in cluster) of each representative
    class_names: list[str]
    labelled: bool
    k_silhouette: dict[int, float]  # stand-in clusters: silhouette per k tried


@dataclass(frozen=True)
class Rule:
    """The calibrated rule: coverage score above `level` (or a fixed similarity τ)."""

    reference: Any  # auditor.ood.Reference
    model: Any  # auditor.ood.Gaussians
    own_score: Any  # (n_reps,) each representative's leave-one-out coverage score
    level: float
    tau: float  # nearest-training similarity at `level` among the training set's own (or fixed)
    fixed: bool
    sibling_similarity: float  # median similarity of a class mean to its nearest other class mean


def class_names_of(vectors: Any, classes: Any, texts: list[str]) -> list[str]:
    """A stand-in cluster's name: its member nearest the cluster mean."""
    import numpy as np

    from auditor.clusters import unit

    names = []
    for c in range(int(classes.max()) + 1):
        members = np.flatnonzero(classes == c)
        centre = unit(vectors[members].mean(axis=0))
        central = members[int(np.argmax(vectors[members] @ centre))]
        names.append(f'training cluster {c + 1} ("{snippet(texts[central], 60)}")')
    return names


def training_side(ctx: AuditContext, config: Mapping[str, Any]) -> Training:
    import numpy as np

    from auditor.ood import choose_k, kmeans

    reps = ctx.representatives("train")
    valid = ctx.train.valid
    lines, texts = valid["line"].to_list(), valid["input"].to_list()
    position = {row: k for k, row in enumerate(reps.rows)}
    rows_of_rep: list[list[int]] = [[] for _ in reps.rows]
    for row, rep in enumerate(reps.of_row):
        rows_of_rep[position[rep]].append(lines[row])
    spacing = ctx.neighbour_graph("train").similarity[:, 0] if len(reps.rows) > 1 else np.full(len(reps.rows), -1.0)
    spacing = np.where(np.isfinite(spacing), spacing, -1.0)
    vectors = ctx.embeddings("train")[reps.rows]
    rep_texts = [texts[r] for r in reps.rows]
    table: dict[int, float] = {}
    if ctx.train.task == "classification":
        labels = valid["label"].to_list()
        names, classes = np.unique([str(labels[r] or "") for r in reps.rows], return_inverse=True)
        class_names = [str(n) for n in names]
    else:
        k = int(config["stand_in_clusters"])
        if k <= 0:
            k, table = choose_k(vectors, config["seed"])
        classes = kmeans(vectors, k, config["seed"])
        class_names = class_names_of(vectors, classes, rep_texts)
    return Training(
        [lines[r] for r in reps.rows],
        rep_texts,
        vectors,
        rows_of_rep,
        len(lines),
        spacing,
        classes.astype(np.int64),
        class_names,
        ctx.train.task == "classification",
        table,
    )


def build_rule(train: Training, config: Mapping[str, Any]) -> Rule:
    import numpy as np

    from auditor.clusters import unit
    from auditor.ood import build_reference

    weight = config["mahalanobis_weight"] if train.classes.max() > 0 else 0.0  # one class: nothing relative
    reference, model, own = build_reference(train.vectors, train.classes, train.spacing, weight, config["far_quantile"])
    level = float(config["threshold_quantile"])
    fixed = config["threshold"] > 0
    tau = float(config["threshold"]) if fixed else float(np.quantile(reference.cosine, level))
    means = unit(model.means[model.counts > 0])
    sibling = 1.0
    if len(means) > 1:
        between = means @ means.T
        np.fill_diagonal(between, -np.inf)
        sibling = float(np.median(between.max(axis=1)))
    return Rule(reference, model, own, level, tau, fixed, sibling)


def rule_basis(rule: Rule, train: Training, config: Mapping[str, Any]) -> dict[str, Any]:
    import numpy as np

    if rule.fixed:
        return {"source": "fixed", "threshold": rule.tau}
    classes = int(train.classes.max()) + 1 if len(train.classes) else 0
    return {
        "source": "training leave-one-out scores",
        "quantile": rule.level,
        "rule": f"covered when the coverage score is above {rule.level:g}: the fused score is above the "
        f"{rule.level:.0%} quantile of the training rows' own leave-one-out scores",
        "score": f"{1 - rule.reference.weight:g} × percentile of nearest-training similarity + "
        f"{rule.reference.weight:g} × percentile of relative Mahalanobis distance (of the plain "
        f"distance when that is below {rule.reference.far:g}: far from every class)",
        "classes": "labels" if train.labelled else "k-means stand-in clusters",
        "class_count": classes,
        "k_silhouette": {str(k): v for k, v in train.k_silhouette.items()},
        "training_similarity_at_quantile": round(rule.tau, 4),
        "training_median_similarity": round(float(np.median(rule.reference.cosine)), 4),
    }


def match(ctx: AuditContext, train: Training, rule: Rule, config: Mapping[str, Any]) -> Matched:
    from auditor.neighbors import nearest
    from auditor.ood import score

    valid = ctx.datasets["production"].valid
    rows = ctx.sample_rows("production", config["sample"], config["seed"])
    lines = valid["line"].gather(rows).to_list()
    texts = valid["input"].gather(rows).to_list()
    vectors = ctx.sample_embeddings("production", config["sample"], config["seed"])
    index, similarity = nearest(vectors, train.vectors, 1)
    scores = score(rule.reference, rule.model, vectors, similarity[:, 0])
    covered = similarity[:, 0] >= rule.tau if rule.fixed else scores.coverage > rule.level
    return Matched(
        lines,
        texts,
        vectors,
        index[:, 0],
        similarity[:, 0],
        scores.coverage,
        scores.nearest_class,
        covered,
        valid.height,
    )


def chance_cluster_size(train: Training, rule: Rule, matched_rows: int, config: Mapping[str, Any]) -> int:
    """The largest cluster the training set's own outliers form at the density expected among the matched rows.

    Training inputs whose nearest other training input is below `threshold` (the similarity at the rule's
    quantile) are what production inputs drawn like training look like when they come out uncovered;
    the median over `chance_draws` draws of that many of them, clustered the same way (in cosine
    terms), is the size a cluster of stragglers reaches by chance.
    """
    import numpy as np

    from auditor.clusters import cluster_vectors

    if len(train.lines) < 2:
        return 0
    stragglers = np.flatnonzero(train.spacing < rule.tau)
    expected = round(len(stragglers) / len(train.lines) * matched_rows)
    if expected < 2:
        return 1
    rng = np.random.default_rng(config["seed"])
    largest = []
    for draw in range(config["chance_draws"] if expected < len(stragglers) else 1):
        pick = rng.choice(stragglers, expected, replace=False) if expected < len(stragglers) else stragglers
        found = cluster_vectors(
            train.vectors[pick],
            max(0.0, rule.tau - config["cluster_margin"]),
            config["cluster_sample"],
            config["seed"] + draw,
        )
        largest.append(found.sizes().max() * expected / len(pick))
    return math.ceil(float(np.median(largest)))


def nearest_class(centroid: Any, train: Training, rule: Rule) -> tuple[str, bool, float]:
    """The training label (or stand-in cluster) whose mean is most similar to the cluster's centroid, whether the
    cluster sits as close to it as the training set's neighbouring classes sit to each other (a sibling), and
    that similarity."""
    import numpy as np

    from auditor.clusters import unit

    similarity = unit(rule.model.means) @ centroid
    similarity[rule.model.counts == 0] = -np.inf
    best = int(np.argmax(similarity))
    return train.class_names[best], bool(similarity[best] >= rule.sibling_similarity), float(similarity[best])


def uncovered_clusters(
    matched: Matched, train: Training, rule: Rule, smallest: int, config: Mapping[str, Any]
) -> tuple[list[dict[str, Any]], list[list[int]]]:
    """Reported clusters of uncovered rows (largest first) and, for each, the matched-row positions in it."""
    import numpy as np

    from auditor.clusters import cluster_vectors, cohesion, nearest_to_centroid
    from auditor.neighbors import nearest

    uncovered = np.flatnonzero(~matched.covered)
    found = cluster_vectors(
        matched.vectors[uncovered],
        max(0.0, rule.tau - config["cluster_margin"]),
        config["cluster_sample"],
        config["seed"],
    )
    clusters: list[dict[str, Any]] = []
    members_of: list[list[int]] = []
    for cluster, size in enumerate(found.sizes()):
        if size < smallest:
            break
        members = uncovered[found.members(cluster)]
        centroid = found.centroids[cluster]
        index, similarity = nearest(centroid[None, :], train.vectors, 1)
        tightness = cohesion(matched.vectors[members], centroid)
        if tightness <= similarity[0, 0]:
            continue  # as close to training as to each other: stragglers, not a missing kind of input
        share = len(members) / len(matched.lines)
        examples = members[nearest_to_centroid(matched.vectors[members], centroid, EXAMPLES)]
        rep = int(index[0, 0])
        label, sibling, label_similarity = nearest_class(centroid, train, rule)
        clusters.append(
            {
                "id": len(clusters) + 1,
                "size": len(members),
                "share": round(share, 4),
                "estimated_production_rows": round(share * matched.production_rows),
                "examples": [{"line": matched.lines[p], "text": snippet(matched.texts[p], EXCERPT)} for p in examples],
                "nearest_train_line": train.lines[rep],
                "nearest_train_example": snippet(train.texts[rep], EXCERPT),
                "nearest_train_similarity": round(float(similarity[0, 0]), 4),
                "nearest_label": label,
                "nearest_label_similarity": round(label_similarity, 4),
                "sibling": sibling,
                "mean_coverage_score": round(float(matched.score[members].mean()), 4),
                "cohesion": round(tightness, 4),
                "examples_to_collect": max(config["min_examples_per_cluster"], math.ceil(share * train.valid_rows)),
            }
        )
        members_of.append(sorted(int(p) for p in members))
    return clusters, members_of


def training_only_clusters(
    matched: Matched, train: Training, tau: float, smallest: int, config: Mapping[str, Any]
) -> list[tuple[dict[str, Any], list[int]]]:
    """Training clusters with no matched production input within τ of any member, with their training lines."""

    from auditor.clusters import cluster_vectors, nearest_to_centroid
    from auditor.neighbors import nearest

    found = cluster_vectors(
        train.vectors, max(0.0, tau - config["cluster_margin"]), config["cluster_sample"], config["seed"]
    )
    visited = set(found.label[matched.nearest_rep[matched.covered]].tolist())
    result: list[tuple[dict[str, Any], list[int]]] = []
    for cluster, size in enumerate(found.sizes()):
        if size < smallest:
            break
        if cluster in visited:
            continue
        members = found.members(cluster)
        _, near = nearest(train.vectors[members], matched.vectors, 1)
        if near.max() >= tau:
            continue
        examples = members[nearest_to_centroid(train.vectors[members], found.centroids[cluster], EXAMPLES)]
        lines = sorted(line for m in members for line in train.rows_of_rep[m])
        summary = {
            "id": len(result) + 1,
            "size": len(lines),
            "share": round(len(lines) / train.valid_rows, 4),
            "examples": [{"line": train.lines[m], "text": snippet(train.texts[m], EXCERPT)} for m in examples],
            "nearest_production_similarity": round(float(near.max()), 4),
        }
        result.append((summary, lines))
    return result


def shift_metrics(
    matched: Matched, train: Training, cluster_of: dict[int, int], config: Mapping[str, Any]
) -> dict[str, Any]:
    import numpy as np

    from auditor.shift import domain_auc, histogram, projection

    distinct = np.unique(matched.vectors, axis=0)  # repeated production inputs would straddle the folds
    auc = domain_auc(train.vectors, distinct, config["domain_sample"], config["domain_folds"], config["seed"])
    chosen, coordinates = projection([train.vectors, matched.vectors], config["map_points"], config["seed"])
    points = [
        {"x": round(float(x), 4), "y": round(float(y), 4), "split": "train", "covered": None, "cluster": None}
        for x, y in coordinates[0]
    ]
    points += [
        {
            "x": round(float(x), 4),
            "y": round(float(y), 4),
            "split": "production",
            "covered": bool(matched.covered[p]),
            "cluster": cluster_of.get(int(p)),
        }
        for p, (x, y) in zip(chosen[1].tolist(), coordinates[1])
    ]
    return {
        "domain_auc": None if auc is None else round(auc, 4),
        "similarity_histogram": histogram(matched.similarity, config["histogram_bins"]),
        "map": points,
    }


def cluster_finding(name: str, cluster: dict[str, Any], rows: list[int]) -> Finding:
    quoted = "; ".join(f'"{snippet(e["text"], SNIPPET)}" (line {e["line"]})' for e in cluster["examples"])
    label = cluster["nearest_label"]
    kin = (
        f"looks like `{label}` but is not covered by it"
        if cluster["sibling"]
        else f"unlike any training class (nearest: `{label}`)"
    )
    message = (
        f"{name}: {cluster['size']} production inputs ({cluster['share']:.1%} of traffic) are not covered by "
        f"the training set, e.g. {quoted}; {kin}; collect ~{cluster['examples_to_collect']} more examples "
        f"like these (closest training example: line {cluster['nearest_train_line']} "
        f'"{snippet(cluster["nearest_train_example"], SNIPPET)}", '
        f"similarity {cluster['nearest_train_similarity']:.2f})"
    )
    return Finding("COV003", "warning", message, tuple(rows), cluster, "production")


def gap_findings(
    name: str,
    train_name: str,
    matched: Matched,
    tau: float,
    clusters: list[dict[str, Any]],
    members_of: list[list[int]],
    training_only: list[tuple[dict[str, Any], list[int]]],
    limit: int,
) -> list[Finding]:
    findings = [
        cluster_finding(name, c, [matched.lines[p] for p in m]) for c, m in zip(clusters[:limit], members_of[:limit])
    ]
    if len(clusters) > limit:
        rest = sum(c["size"] for c in clusters[limit:])
        findings.append(
            Finding(
                "COV003",
                "info",
                f"{name}: {len(clusters) - limit} more uncovered clusters ({rest} inputs) not listed",
                (),
                {"clusters_not_listed": len(clusters) - limit},
                "production",
            )
        )
    in_cluster = {p for members in members_of for p in members}
    scattered = [p for p, covered in enumerate(matched.covered.tolist()) if not covered and p not in in_cluster]
    if scattered:
        findings.append(
            Finding(
                "COV004",
                "info",
                f"{name}: {len(scattered)} uncovered production inputs belong to no "
                "reported cluster (one-offs, or groups too small to tell from chance)",
                tuple(matched.lines[p] for p in scattered),
                {"count": len(scattered)},
                "production",
            )
        )
    for summary, lines in training_only[:limit]:
        quoted = "; ".join(f'"{snippet(e["text"], SNIPPET)}" (line {e["line"]})' for e in summary["examples"])
        findings.append(
            Finding(
                "COV006",
                "info",
                f"{train_name}: {summary['size']} training rows like {quoted} have "
                f"no production input within similarity {tau:.2f}",
                tuple(lines),
                summary,
                "train",
            )
        )
    return findings


def coverage_finding(name: str, coverage: float, low: float, high: float, config: Mapping[str, Any]) -> Finding | None:
    interval = f"95% CI {low:.0%}–{high:.0%}"
    if coverage < config["min_coverage"]:
        return Finding(
            "COV001",
            "error",
            f"{name}: only {coverage:.0%} of production inputs are covered by the "
            f"training set ({interval}; minimum {config['min_coverage']:.0%})",
            (),
            {"coverage": round(coverage, 4), "minimum": config["min_coverage"]},
            "production",
        )
    if coverage < config["target_coverage"]:
        return Finding(
            "COV002",
            "warning",
            f"{name}: {coverage:.0%} of production inputs are covered by the training "
            f"set ({interval}; target {config['target_coverage']:.0%})",
            (),
            {"coverage": round(coverage, 4), "target": config["target_coverage"]},
            "production",
        )
    return None


def row_annotations(matched: Matched, train: Training, cluster_of: dict[int, int]) -> dict[str, dict[int, Any]]:
    return {
        "nearest_train_line": {line: train.lines[int(r)] for line, r in zip(matched.lines, matched.nearest_rep)},
        "nearest_train_similarity": {line: round(float(s), 4) for line, s in zip(matched.lines, matched.similarity)},
        "coverage_score": {line: round(float(s), 4) for line, s in zip(matched.lines, matched.score)},
        "covered": {line: bool(c) for line, c in zip(matched.lines, matched.covered)},
        "cluster": {line: cluster_of.get(p) for p, line in enumerate(matched.lines)},
    }


def quantiles(values: Any) -> dict[str, float]:
    import numpy as np

    return {str(q): round(float(np.quantile(values, q)), 4) for q in (0.05, 0.25, 0.5, 0.75, 0.95)}


def calibration_metrics(calibration: Any, train: Training) -> dict[str, Any] | None:
    from auditor.ood import informative

    if calibration is None:
        return None
    kind = "labels" if train.labelled else "stand-in clusters"
    held = (
        f"1/{calibration.folds} of the {kind} and 1/{calibration.folds} of the other rows"
        if calibration.rows_out
        else f"1/{calibration.folds} of the rows (too few {kind} to hold out)"
    )
    return {
        "method": f"{calibration.folds} folds: hold out {held}, rebuild the rule on the rest, count what it covers",
        "covered_of_held_out_rows": round(calibration.covered_in, 4),
        "held_out_rows": calibration.rows_in,
        "covered_of_held_out_rows_se": round(calibration.se_in, 4),
        "covered_of_held_out_classes": round(calibration.covered_out, 4),
        "covered_of_held_out_classes_se": round(calibration.se_out, 4),
        "held_out_class_rows": calibration.rows_out,
        "false_coverage_in_interval": informative(calibration),
    }


def run(ctx: AuditContext, config: Mapping[str, Any]) -> CheckResult:
    from threadpoolctl import threadpool_limits

    from auditor.ood import calibrate, interval

    production = ctx.dataset("production")
    if production is None:
        return CheckResult(ID, "skipped", NO_PRODUCTION)
    name = production.path.name
    if ctx.train.rows_valid == 0:
        return CheckResult(ID, "skipped", "no valid training rows: coverage of production inputs is unknown")
    if production.rows_valid == 0:
        return CheckResult(ID, "skipped", f"{name} has no valid production inputs: coverage is unknown")
    with threadpool_limits(limits=1, user_api="blas"):  # small problems: one thread beats two fighting
        train = training_side(ctx, config)
        if len(train.lines) < 2:
            return CheckResult(ID, "skipped", "fewer than 2 distinct training inputs: coverage cannot be calibrated")
        rule = build_rule(train, config)
    matched = match(ctx, train, rule, config)  # one large product: worth every thread
    with threadpool_limits(limits=1, user_api="blas"):
        n, covered = len(matched.lines), int(matched.covered.sum())
        coverage = covered / n
        calibration = (
            None
            if rule.fixed
            else calibrate(
                train.vectors,
                train.classes,
                rule.level,
                rule.reference.weight,
                rule.reference.far,
                config["calibration_folds"],
                config["calibration_sample"],
                config["seed"],
                rule.model.shrinkage,
            )
        )
        low, high = interval(covered, n, calibration)
        chance = chance_cluster_size(train, rule, n, config)
        smallest = max(config["min_cluster_size"], chance + 1)
        clusters, members_of = uncovered_clusters(matched, train, rule, smallest, config)
        training_only = training_only_clusters(matched, train, rule.tau, smallest, config)
        cluster_of = {p: c["id"] for c, members in zip(clusters, members_of) for p in members}
        shift = shift_metrics(matched, train, cluster_of, config)
    limit = config["max_clusters"]
    findings = gap_findings(name, ctx.train.path.name, matched, rule.tau, clusters, members_of, training_only, limit)
    auc = shift["domain_auc"]
    if auc is not None and auc > config["max_domain_auc"]:
        findings.append(
            Finding(
                "COV005",
                "info",
                f"{name}: a classifier tells production inputs from training inputs "
                f"with ROC AUC {auc:.2f} (0.5 = indistinguishable): the two differ in distribution",
                (),
                {"domain_auc": auc},
                "production",
            )
        )
    headline = coverage_finding(name, coverage, low, high, config)
    findings = ([headline] if headline else []) + findings
    status = "fail" if coverage < config["min_coverage"] else "warn" if headline or clusters else "pass"
    metrics: dict[str, Any] = {
        "coverage": round(coverage, 4),
        "coverage_ci_low": round(low, 4),
        "coverage_ci_high": round(high, 4),
        "threshold": round(rule.tau, 4),
        "threshold_basis": rule_basis(rule, train, config),
        "calibration": calibration_metrics(calibration, train),
        "production_rows": matched.production_rows,
        "sampled_rows": n,
        "sampled": n < matched.production_rows,
        "covered_rows": covered,
        "uncovered_rows": n - covered,
        "uncovered_in_clusters": len(cluster_of),
        "uncovered_clusters_total": len(clusters),
        "chance_cluster_size": chance,
        "smallest_reported_cluster": smallest,
        "uncovered_clusters": clusters[:limit],
        "training_only_clusters": [summary for summary, _ in training_only[:limit]],
        "training_only_clusters_total": len(training_only),
        "similarity_quantiles": quantiles(matched.similarity),
        "coverage_score_quantiles": quantiles(matched.score),
        **shift,
    }
    sample_note = f" (a sample of {n} of {matched.production_rows})" if n < matched.production_rows else ""
    rule_note = (
        f"nearest training input within τ = {rule.tau:.2f}"
        if rule.fixed
        else f"coverage score above the training set's own {rule.level:.0%} quantile"
    )
    summary = (
        f"{coverage:.0%} of {n} production inputs{sample_note} covered (95% CI {low:.0%}–{high:.0%}, sampling "
        f"and the rule's own error): {rule_note}; {len(clusters)} uncovered cluster(s) with "
        f"{len(cluster_of)} inputs" + (f"; domain AUC {auc:.2f}" if auc is not None else "")
    )
    uncovered = tuple(
        UncoveredCluster(
            c["id"],
            c["size"],
            c["share"],
            c["examples_to_collect"],
            (c["examples"] or [{"text": ""}])[0]["text"],
            c["nearest_label"],
            c["sibling"],
        )
        for c in clusters[:limit]
    )
    evidence = CoverageEvidence(
        round(coverage, 4), round(low, 4), round(high, 4), n, matched.production_rows, uncovered
    )
    return CheckResult(
        ID,
        status,
        summary,
        metrics,
        tuple(findings),
        {"production": row_annotations(matched, train, cluster_of)},
        evidence=(evidence,),
    )

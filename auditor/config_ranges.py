"""The allowed range of every numeric config key, checked when a config is merged.

A key listed in RANGES must lie in [low, high] (None: no upper bound); any other numeric key must
be a finite number ≥ 0 (no threshold, count, price or seed of ftaudit is negative). A value out of
range is a one-line ConfigError naming the key, so `batch_size = -64` never reaches the embedder.
"""

from __future__ import annotations

import math
from typing import Any

from auditor.errors import ConfigError

UNIT = (0.0, 1.0)
AT_LEAST_ONE = (1, None)
AT_LEAST_TWO = (2, None)

RANGES: dict[str, tuple[float, float | None]] = {
    "load.classification_max_distinct_ratio": UNIT,
    "load.classification_max_label_words": AT_LEAST_ONE,
    "embedding.batch_size": (1, 100_000),
    "neighbours.k": (1, 1000),
    "neighbours.min_pair_similarity": UNIT,
    "verdict.pilot_below_coverage": UNIT,
    "verdict.prompting_below_coverage": UNIT,
    "verdict.pilot_above_inconsistency": UNIT,
    "verdict.prompting_above_inconsistency": UNIT,
    "verdict.small_gap_points": (0, 100),
    "verdict.large_gap_points": (0, 100),
    "format.max_invalid_share": UNIT,
    "format.max_output_chars": AT_LEAST_ONE,
    "format.max_input_chars": AT_LEAST_ONE,
    "duplicates.max_edit_ratio": UNIT,
    "duplicates.embedding_threshold": UNIT,
    "duplicates.lexical_support": UNIT,
    "duplicates.minhash_threshold": (0.01, 1.0),
    "duplicates.max_bucket": AT_LEAST_ONE,
    "duplicates.template_share": UNIT,
    "duplicates.shared_min_share": UNIT,
    "duplicates.shared_edge_drop": UNIT,
    "duplicates.max_duplicate_rate": UNIT,
    "duplicates.max_eval_leak_share": UNIT,
    "size.minimum_from": AT_LEAST_ONE,
    "size.preferred_from": AT_LEAST_ONE,
    "size.strong_from": AT_LEAST_ONE,
    "labels.max_inconsistent_share": UNIT,
    "labels.conflict_similarity": UNIT,
    "labels.spelling_edit_ratio": UNIT,
    "labels.imbalance_ratio": UNIT,
    "labels.min_rows_for_model": AT_LEAST_TWO,
    "labels.neighbours": AT_LEAST_ONE,
    "labels.neighbour_temperature": (1e-6, None),
    "labels.neighbour_weight": UNIT,
    "labels.shrinkage": UNIT,
    "labels.folds": (2, 1000),
    "labels.confident_fraction": UNIT,
    "labels.output_similarity": UNIT,
    "labels.format_min_share": UNIT,
    "labels.learning_curve_max_rows": AT_LEAST_TWO,
    "outputs.max_inconsistent_share": UNIT,
    "outputs.output_similarity": UNIT,
    "outputs.format_min_share": UNIT,
    "preference.max_length_predictiveness": UNIT,
    "preference.max_refusal_gap": UNIT,
    "preference.kto_max_ratio": AT_LEAST_ONE,
    "preference.max_inconsistent_share": UNIT,
    "coverage.threshold": UNIT,
    "coverage.threshold_quantile": UNIT,
    "coverage.mahalanobis_weight": UNIT,
    "coverage.far_quantile": UNIT,
    "coverage.calibration_folds": (2, 100),
    "coverage.calibration_sample": (20, None),
    "coverage.sample": AT_LEAST_ONE,
    "coverage.min_coverage": UNIT,
    "coverage.target_coverage": UNIT,
    "coverage.cluster_margin": UNIT,
    "coverage.cluster_sample": AT_LEAST_TWO,
    "coverage.min_cluster_size": AT_LEAST_ONE,
    "coverage.chance_draws": AT_LEAST_ONE,
    "coverage.max_clusters": AT_LEAST_ONE,
    "coverage.domain_sample": AT_LEAST_TWO,
    "coverage.domain_folds": (2, 100),
    "coverage.max_domain_auc": (0.5, 1.0),
    "coverage.histogram_bins": (1, 1000),
    "tokens.context_limit": AT_LEAST_ONE,
    "tokens.max_over_limit_share": UNIT,
    "tokens.long_outlier_factor": AT_LEAST_ONE,
    "tokens.target_epochs": AT_LEAST_ONE,
    "tokens.min_default_epochs": AT_LEAST_ONE,
    "tokens.max_default_epochs": AT_LEAST_ONE,
}


def allowed_range(key: str) -> tuple[float, float | None]:
    return RANGES.get(key, (0, None))


def check_range(where: str, key: str, value: Any) -> None:
    """ConfigError when a numeric `value` of `key` ('section.name') is not finite or out of its range."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return
    low, high = allowed_range(key)
    if not math.isfinite(value):
        raise ConfigError(f"{where}: '{key}' must be a finite number, got {value!r}")
    if value < low or (high is not None and value > high):
        bound = f"between {low:g} and {high:g}" if high is not None else f"at least {low:g}"
        raise ConfigError(f"{where}: '{key}' must be {bound}, got {value!r}")

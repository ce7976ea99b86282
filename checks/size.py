"""Size: how many usable examples the training set really has, against the fine-tuning tiers.

What it checks
  Usable examples = valid rows, counting one row per duplicate group: exact duplicates (inputs
  equal after Unicode NFKC, case folding, whitespace collapsing and trimming of surrounding
  punctuation) and, by default, near duplicates as the duplicates check defines them (see
  `ftaudit explain duplicates`). The count is placed in a tier:
    insufficient  < 100        keep prompting: a few-shot prompt with these examples wins
    minimum       100 – 499    a pilot fine-tune at most
    preferred     500 – 999    fine-tuning is feasible
    strong        ≥ 1,000      fine-tuning is well supported
  For classification sets it also counts usable examples per label.

Why it matters
  A fine-tune learns from distinct examples; duplicates only re-weight them. Below about a
  hundred examples a model learns the format but not the task, and a prompt with the same
  examples does as well. A label with a handful of examples will be guessed, not learned.

Failing example
  support.jsonl: 199 valid rows, 3 duplicates -> 196 usable: tier 'minimum';
  304 more examples reach the preferred band.

How to fix
  Collect more distinct examples (the next-steps list says how many), drop duplicates, and
  bring every label up to `min_examples_per_label`.

Config ([size] in ftaudit.toml)
  minimum_from = 100     usable examples where the 'minimum' tier starts
  preferred_from = 500   where the 'preferred' tier starts
  strong_from = 1000     where the 'strong' tier starts
  min_examples_per_label = 10   a classification label with fewer usable examples is a finding
  count_near_duplicates = true  one row per near-duplicate group too (needs embeddings);
                                false: only exact duplicates are removed

Codes
  SIZE001 usable examples below the preferred tier · SIZE002 duplicates do not count
  SIZE003 labels with too few examples
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from auditor.evidence import SizeEvidence, SizeThresholds
from auditor.results import CheckResult, Finding

if TYPE_CHECKING:
    from auditor.context import AuditContext

ID = "size"
FAMILY = "SIZE"
CODES = {
    "SIZE001": "usable examples below the preferred tier",
    "SIZE002": "duplicates do not count as usable examples",
    "SIZE003": "classification labels with too few examples",
}
DEFAULTS: dict[str, Any] = {
    "minimum_from": 100,
    "preferred_from": 500,
    "strong_from": 1000,
    "min_examples_per_label": 10,
    "count_near_duplicates": True,
}
TIERS = ("insufficient", "minimum", "preferred", "strong")


def tier_of(usable: int, config: Mapping[str, Any]) -> str:
    if usable >= config["strong_from"]:
        return "strong"
    if usable >= config["preferred_from"]:
        return "preferred"
    if usable >= config["minimum_from"]:
        return "minimum"
    return "insufficient"


def size_evidence(usable: int, rows_valid: int, config: Mapping[str, Any] = DEFAULTS, **removed: Any) -> SizeEvidence:
    """The evidence the ruling reads: usable count, its tier under `config`'s thresholds, what was taken off."""
    thresholds = SizeThresholds(config["minimum_from"], config["preferred_from"], config["strong_from"])
    return SizeEvidence(
        usable,
        tier_of(usable, config),
        rows_valid,
        thresholds,
        min_examples_per_label=config["min_examples_per_label"],
        **removed,
    )


def run(ctx: AuditContext, config: Mapping[str, Any]) -> CheckResult:
    train = ctx.train
    valid = train.valid
    lines = valid["line"].to_list()
    exact_of_row = ctx.representatives("train").of_row
    group_of_row = ctx.near_groups("train")[1] if config["count_near_duplicates"] and lines else exact_of_row
    dropped = [lines[row] for row, group in enumerate(group_of_row) if group != row]
    exact_dropped = sum(1 for row, rep in enumerate(exact_of_row) if rep != row)
    usable = len(lines) - len(dropped)
    unit, unpaired, excluded = "examples", 0, set(dropped)
    if train.task == "preference" and lines:  # pairs: repeated pairs and pairs with nothing to learn do not count
        from auditor.pairs import pair_analysis

        pairs = pair_analysis(ctx)
        exact_of_line = dict(zip(pairs.lines, pairs.exact_prompt))
        dropped = sorted(set(pairs.duplicates) - pairs.inconsistent)
        exact_dropped = sum(1 for line in dropped if exact_of_line[line] == exact_of_line[pairs.duplicates[line]])
        unit, unpaired, usable = "pairs", len(pairs.inconsistent), pairs.usable
        excluded = pairs.removed
    from auditor.targets.rows import untrainable_rows  # rows with nothing left to learn for the target (tokens)

    untrainable = untrainable_rows(ctx, excluded) if lines else []
    usable -= len(untrainable)
    tier = tier_of(usable, config)
    thresholds = {k: config[k] for k in ("minimum_from", "preferred_from", "strong_from")}
    metrics: dict[str, Any] = {
        "rows_valid": len(lines),
        "exact_duplicate_rows": exact_dropped,
        "near_duplicate_rows": len(dropped) - exact_dropped,
        "duplicate_rows": len(dropped),
        "duplicate_rate": round(len(dropped) / len(lines), 4) if lines else 0.0,
        "near_duplicates_counted": bool(config["count_near_duplicates"]),
        "usable_examples": usable,
        "untrainable_rows": len(untrainable),
        "tier": tier,
        "thresholds": thresholds,
        "unit": unit,
    }
    if unit == "pairs":
        metrics["inconsistent_pairs"] = unpaired
    findings: list[Finding] = []
    name = train.path.name
    if tier in ("insufficient", "minimum"):
        goal = config["minimum_from"] if tier == "insufficient" else config["preferred_from"]
        metrics["examples_to_next_tier"] = goal - usable
        severity = "error" if tier == "insufficient" else "warning"
        message = (
            f"{name}: {usable} usable {unit}, tier '{tier}'; {goal - usable} more reach "
            f"{'a pilot' if tier == 'insufficient' else 'the preferred band'} ({goal})"
        )
        findings.append(Finding("SIZE001", severity, message, (), {"usable_examples": usable, "goal": goal}))
    if dropped:
        kind = "exactly or nearly" if config["count_near_duplicates"] else "exactly (after normalisation)"
        message = f"{name}: {len(dropped)} row(s) repeat an earlier row {kind} and do not count"
        if unit == "pairs":
            message = f"{name}: {len(dropped)} row(s) repeat an earlier pair (same prompt, same sides) and do not count"
        findings.append(
            Finding(
                "SIZE002",
                "info",
                message,
                tuple(dropped),
                {"exact": exact_dropped, "near": len(dropped) - exact_dropped},
            )
        )
    if train.task == "classification":
        dropped_set = set(dropped)
        kept_labels = [label for line, label in zip(lines, valid["label"].to_list()) if line not in dropped_set]
        counts = Counter(kept_labels)
        thin = {
            label: n
            for label, n in sorted(counts.items(), key=lambda kv: (kv[1], kv[0]))
            if n < config["min_examples_per_label"]
        }
        metrics.update(
            labels=len(counts),
            label_counts=dict(counts.most_common()),
            min_label_count=min(counts.values()) if counts else 0,
        )
        if thin:
            thin_rows = [line for line, label in zip(lines, valid["label"].to_list()) if label in thin]
            listed = ", ".join(f"'{label}' ({n})" for label, n in list(thin.items())[:10])
            message = f"{name}: {len(thin)} label(s) under {config['min_examples_per_label']} usable examples: {listed}"
            findings.append(Finding("SIZE003", "warning", message, tuple(thin_rows), {"labels": thin}))
            metrics["thin_labels"] = thin
    status = {"insufficient": "fail", "minimum": "warn"}.get(tier, "pass")
    if status == "pass" and any(f.code == "SIZE003" for f in findings):
        status = "warn"
    summary = (
        f"{usable} usable {unit} of {len(lines)} valid rows ({len(dropped)} duplicates not counted): tier '{tier}'"
    )
    if unit == "pairs":
        summary = (
            f"{usable} usable pairs of {len(lines)} valid rows ({len(dropped)} repeated, {unpaired} with "
            f"nothing or the opposite to learn): tier '{tier}'"
        )
    evidence = size_evidence(
        usable,
        len(lines),
        config,
        removed_duplicates=len(dropped),
        removed_unpaired=unpaired,
        removed_untrainable=len(untrainable),
        unit=unit,
        thin_labels=tuple(metrics.get("thin_labels", {}).items()),
        labels=metrics.get("labels", 0),
    )
    return CheckResult(ID, status, summary, metrics, tuple(findings), evidence=(evidence,))

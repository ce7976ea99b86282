"""Size: how many usable examples the training set really has, against the fine-tuning tiers.

What it checks
  Usable examples = valid rows minus exact duplicates (input and output compared after Unicode
  NFKC, case folding, whitespace collapsing and trimming of surrounding punctuation; one row of
  each duplicate group counts). The count is placed in a tier:
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
  support.jsonl: 187 valid rows, 4 exact duplicates -> 183 usable: tier 'minimum';
  317 more examples reach the preferred band.

How to fix
  Collect more distinct examples (the next-steps list says how many), drop duplicates, and
  bring every label up to `min_examples_per_label`.

Config ([size] in ftaudit.toml)
  minimum_from = 100     usable examples where the 'minimum' tier starts
  preferred_from = 500   where the 'preferred' tier starts
  strong_from = 1000     where the 'strong' tier starts
  min_examples_per_label = 10   a classification label with fewer usable examples is a finding

Codes
  SIZE001 usable examples below the preferred tier · SIZE002 exact duplicates do not count
  SIZE003 labels with too few examples
"""
from __future__ import annotations

from collections import Counter
from typing import Any, Mapping

from auditor.context import AuditContext
from auditor.results import CheckResult, Finding

ID = "size"
FAMILY = "SIZE"
CODES = {
    "SIZE001": "usable examples below the preferred tier",
    "SIZE002": "exact duplicates do not count as usable examples",
    "SIZE003": "classification labels with too few examples",
}
DEFAULTS: dict[str, Any] = {
    "minimum_from": 100,
    "preferred_from": 500,
    "strong_from": 1000,
    "min_examples_per_label": 10,
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


def run(ctx: AuditContext, config: Mapping[str, Any]) -> CheckResult:
    train = ctx.train
    valid = train.valid
    groups = ctx.exact_groups("train")
    lines = valid["line"].to_list()
    dropped = [line for line in lines if line in groups and groups[line] != line]
    usable = len(lines) - len(dropped)
    tier = tier_of(usable, config)
    thresholds = {k: config[k] for k in ("minimum_from", "preferred_from", "strong_from")}
    metrics: dict[str, Any] = {
        "rows_valid": len(lines),
        "exact_duplicate_rows": len(dropped),
        "exact_duplicate_groups": len(set(groups.values())),
        "usable_examples": usable,
        "tier": tier,
        "thresholds": thresholds,
    }
    findings: list[Finding] = []
    name = train.path.name
    if tier in ("insufficient", "minimum"):
        goal = config["minimum_from"] if tier == "insufficient" else config["preferred_from"]
        metrics["examples_to_next_tier"] = goal - usable
        severity = "error" if tier == "insufficient" else "warning"
        message = (f"{name}: {usable} usable examples, tier '{tier}'; {goal - usable} more reach "
                   f"{'a pilot' if tier == 'insufficient' else 'the preferred band'} ({goal})")
        findings.append(Finding("SIZE001", severity, message, (), {"usable_examples": usable, "goal": goal}))
    if dropped:
        message = f"{name}: {len(dropped)} row(s) repeat an earlier row exactly (after normalisation) and do not count"
        kept = sorted(set(groups.values()))
        findings.append(Finding("SIZE002", "info", message, tuple(dropped), {"kept_lines": kept[:200]}))
    if train.task == "classification":
        dropped_set = set(dropped)
        kept_labels = [label for line, label in zip(lines, valid["label"].to_list()) if line not in dropped_set]
        counts = Counter(kept_labels)
        thin = {label: n for label, n in sorted(counts.items(), key=lambda kv: (kv[1], kv[0])) if n < config["min_examples_per_label"]}
        metrics.update(labels=len(counts), label_counts=dict(counts.most_common()),
                       min_label_count=min(counts.values()) if counts else 0)
        if thin:
            thin_rows = [line for line, label in zip(lines, valid["label"].to_list()) if label in thin]
            listed = ", ".join(f"'{label}' ({n})" for label, n in list(thin.items())[:10])
            message = f"{name}: {len(thin)} label(s) under {config['min_examples_per_label']} usable examples: {listed}"
            findings.append(Finding("SIZE003", "warning", message, tuple(thin_rows), {"labels": thin}))
    status = {"insufficient": "fail", "minimum": "warn"}.get(tier, "pass")
    if status == "pass" and any(f.code == "SIZE003" for f in findings):
        status = "warn"
    summary = f"{usable} usable examples ({len(dropped)} exact duplicates removed): tier '{tier}'"
    row_values = {"train": {"exact_group": dict(groups)}}
    return CheckResult(ID, status, summary, metrics, tuple(findings), row_values)

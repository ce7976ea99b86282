"""Hand-made check results for verdict tests (the verdict reads only results, never data)."""
from __future__ import annotations

from checks.size import tier_of
from auditor.results import CheckResult, Finding

THRESHOLDS = {"minimum_from": 100, "preferred_from": 500, "strong_from": 1000}


def format_result(rows_read: int, malformed: int) -> CheckResult:
    share = malformed / rows_read if rows_read else 0.0
    findings = tuple(Finding("FMT001", "error", f"train.jsonl:{line}: invalid JSON", (line,)) for line in range(2, 2 + malformed))
    status = "fail" if share > 0.10 else ("warn" if malformed else "pass")
    return CheckResult("format", status, f"{malformed} of {rows_read} rows malformed",
                       {"train": {"rows_read": rows_read, "rows_valid": rows_read - malformed, "invalid_share": share},
                        "max_invalid_share": 0.10}, findings)


def size_result(usable: int, duplicates: int = 0) -> CheckResult:
    tier = tier_of(usable, THRESHOLDS)
    return CheckResult("size", "pass", "", {"usable_examples": usable, "tier": tier, "thresholds": THRESHOLDS,
                                            "duplicate_rows": duplicates, "rows_valid": usable + duplicates})


def labels_result(rows: int, inconsistent_share: float) -> CheckResult:
    bad = round(rows * inconsistent_share)
    return CheckResult("labels", "warn" if bad else "pass", f"{bad} inconsistent rows",
                       {"conflicting_rows": bad // 2, "suspected_mislabels": bad - bad // 2, "contradictions": 0})


def coverage_result(coverage: float) -> CheckResult:
    clusters = [] if coverage >= 0.95 else [{"id": 1, "size": 40, "share": round(1 - coverage, 2), "examples_to_collect": 120,
                                             "examples": [{"line": 7, "text": "do you ship lithium batteries"}]}]
    return CheckResult("coverage", "pass" if coverage >= 0.95 else "warn", f"{coverage:.0%} covered",
                       {"coverage": coverage, "coverage_ci_low": coverage - 0.03, "coverage_ci_high": min(1.0, coverage + 0.03),
                        "uncovered_clusters": clusters})

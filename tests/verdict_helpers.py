"""Check results for verdict tests, built with the same evidence constructors the checks use."""

from __future__ import annotations

from auditor.evidence import ConsistencyEvidence, CoverageEvidence, Inconsistency, TokensEvidence, UncoveredCluster
from auditor.results import CheckResult, Finding
from checks.format import format_evidence
from checks.size import size_evidence


def format_result(rows_read: int, malformed: int) -> CheckResult:
    lines = tuple(range(2, 2 + malformed))
    findings = tuple(Finding("FMT001", "error", f"train.jsonl:{line}: invalid JSON", (line,)) for line in lines)
    evidence = format_evidence(
        rows_read, rows_read - malformed, lines, 0.10, f"{malformed} of {rows_read} rows malformed"
    )
    status = "fail" if evidence.unusable else ("warn" if malformed else "pass")
    return CheckResult(
        "format", status, f"{malformed} of {rows_read} rows malformed", {}, findings, evidence=(evidence,)
    )


def size_result(usable: int, duplicates: int = 0) -> CheckResult:
    evidence = size_evidence(usable, usable + duplicates, removed_duplicates=duplicates)
    return CheckResult("size", "pass", "", {}, evidence=(evidence,))


def labels_result(rows: int, inconsistent_share: float, source: str = "labels") -> CheckResult:
    bad = round(rows * inconsistent_share)
    parts = (Inconsistency("rows with conflicting labels", bad // 2), Inconsistency("likely mislabels", bad - bad // 2))
    evidence = ConsistencyEvidence(source, rows, bad, tuple(p for p in parts if p.rows))
    return CheckResult(source, "warn" if bad else "pass", f"{bad} inconsistent rows", {}, evidence=(evidence,))


def coverage_result(coverage: float) -> CheckResult:
    clusters = (
        ()
        if coverage >= 0.95
        else (UncoveredCluster(1, 40, round(1 - coverage, 2), 120, "do you ship lithium batteries"),)
    )
    evidence = CoverageEvidence(coverage, coverage - 0.03, min(1.0, coverage + 0.03), 400, 400, clusters)
    return CheckResult(
        "coverage", "pass" if coverage >= 0.95 else "warn", f"{coverage:.0%} covered", {}, evidence=(evidence,)
    )


def tokens_result(
    rows: int,
    truncated: int = 0,
    monthly_volume: int | None = None,
    saved: int | None = None,
    break_even_months: float | None = None,
    max_seq_len: int = 4096,
) -> CheckResult:
    lines = tuple(range(1, truncated + 1))
    evidence = TokensEvidence(
        "cl100k_base",
        rows,
        200,
        400,
        900,
        max_seq_len,
        rows * 300 * 3,
        3,
        12.5,
        8.0,
        over_limit_lines=lines,
        truncated_lines=lines,
        monthly_volume=monthly_volume,
        monthly_tokens_saved=saved,
        break_even_months=break_even_months,
    )
    return CheckResult("tokens", "warn" if truncated else "pass", "", {}, evidence=(evidence,))

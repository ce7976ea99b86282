"""The ruling: one pure function from check results (and optional context) to a Verdict.

Decisions, from least to most ready: blocked, keep-prompting, pilot, fine-tune.
Every reason names the check and its numbers; every ruling says what would change it.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from auditor.results import CheckResult, Verdict

DECISIONS = ("blocked", "keep-prompting", "pilot", "fine-tune")
TIER_DECISION = {"insufficient": "keep-prompting", "minimum": "pilot", "preferred": "fine-tune", "strong": "fine-tune"}
MAX_LINES_LISTED = 10


def _lines(rows: Sequence[int]) -> str:
    shown = ", ".join(str(r) for r in rows[:MAX_LINES_LISTED])
    return shown + (f" and {len(rows) - MAX_LINES_LISTED} more" if len(rows) > MAX_LINES_LISTED else "")


def decide(results: Sequence[CheckResult], context: Mapping[str, Any] | None = None) -> Verdict:
    by_id = {r.id: r for r in results}
    reasons: list[str] = []
    steps: list[str] = []
    fmt = by_id.get("format")
    size = by_id.get("size")

    if fmt is not None and fmt.status == "fail":
        train = fmt.metrics.get("train", {})
        reasons.append(f"format: {fmt.summary}")
        bad = sorted({r for f in fmt.findings if f.split == "train" and f.severity == "error" for r in f.rows})
        if bad:
            steps.append(f"repair or remove the malformed training lines ({_lines(bad)}) and run the audit again")
        else:
            steps.append("provide a training file with at least one valid record in a supported format")
        usable = size.metrics.get("usable_examples", 0) if size and size.status != "error" else train.get("rows_valid", 0)
        tier = size.metrics.get("tier", "insufficient") if size and size.status != "error" else "insufficient"
        return Verdict("blocked", tier, int(usable), tuple(reasons), tuple(steps))

    if size is None or size.status in ("error", "skipped"):
        reasons.append("size: the size check did not run, so the usable size is unknown" +
                       (f" ({size.summary})" if size else ""))
        steps.append("fix the error in the size check and audit again")
        return Verdict("blocked", "unknown", 0, tuple(reasons), tuple(steps))

    m = size.metrics
    usable, tier, limits = int(m["usable_examples"]), m["tier"], m["thresholds"]
    decision = TIER_DECISION[tier]
    removed = m.get("duplicate_rows", m.get("exact_duplicate_rows", 0))
    dup = f" (after removing {removed} duplicate row(s))" if removed else ""
    if tier == "insufficient":
        reasons.append(f"size: {usable} usable examples{dup} is under {limits['minimum_from']}; "
                       "a few-shot prompt built from these examples will do as well as a fine-tune")
        steps.append(f"use the best of these {usable} examples as few-shot examples in the prompt")
        steps.append(f"collect {limits['minimum_from'] - usable} more distinct examples to reach a pilot "
                     f"({limits['minimum_from']}), {limits['preferred_from'] - usable} to reach the preferred band")
    elif tier == "minimum":
        reasons.append(f"size: {usable} usable examples{dup} is in the minimum band "
                       f"({limits['minimum_from']}–{limits['preferred_from'] - 1}): enough for a pilot, not for a production fine-tune")
        steps.append(f"collect {limits['preferred_from'] - usable} more distinct examples to reach the preferred band "
                     f"({limits['preferred_from']})")
        steps.append("run the pilot against the current prompt on 100–200 held-out examples before committing")
    else:
        band = f"{limits['preferred_from']}–{limits['strong_from'] - 1}" if tier == "preferred" else f"≥ {limits['strong_from']}"
        reasons.append(f"size: {usable} usable examples{dup} is in the {tier} band ({band}): fine-tuning is feasible on size")
        if tier == "preferred":
            steps.append(f"{limits['strong_from'] - usable} more distinct examples would make the set strong ({limits['strong_from']})")
    thin = next((f for f in size.findings if f.code == "SIZE003"), None)
    if thin is not None:
        reasons.append(f"size: {thin.message.split(': ', 1)[-1]}")
        steps.append("collect more examples for the thin labels, or merge them into neighbouring labels")

    for result in results:
        if result.status == "error":
            reasons.append(f"{result.id}: the check crashed ({result.summary}); its evidence is missing from this ruling")
    if fmt is not None:
        bad = sorted({r for f in fmt.findings if f.split == "train" and f.severity == "error" for r in f.rows})
        if bad:
            reasons.append(f"format: {len(bad)} malformed training line(s) were left out of the count")
            steps.append(f"repair the malformed training lines ({_lines(bad)})")
    return Verdict(decision, tier, usable, tuple(reasons), tuple(steps))

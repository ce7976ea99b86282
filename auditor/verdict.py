"""The ruling: one pure function from check results, policy and context to a Verdict.

Decisions, from least to most ready: blocked, keep-prompting, pilot, fine-tune. The data decides
how far it can go (size tier, capped by malformed rows, inconsistency and production coverage);
context can only hold a ruling back, never push it past what the data supports. Every reason names
its source and numbers; next steps say what would change the ruling.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from auditor.results import CheckResult, Verdict

DECISIONS = ("blocked", "keep-prompting", "pilot", "fine-tune")
TIER_DECISION = {"insufficient": "keep-prompting", "minimum": "pilot", "preferred": "fine-tune", "strong": "fine-tune"}
MAX_LINES_LISTED = 10
POLICY_DEFAULTS: dict[str, Any] = {
    "blocking_checks": ["sensitive"],
    "blocking_codes": [],
    "pilot_below_coverage": 0.80,
    "prompting_below_coverage": 0.50,
    "pilot_above_inconsistency": 0.05,
    "prompting_above_inconsistency": 0.20,
    "low_volume": 100_000,
    "high_volume": 1_000_000,
    "small_gap_points": 5.0,
    "large_gap_points": 15.0,
}
CONTEXT_QUESTIONS = (
    "monthly_volume (completions per month: 100k+ favours fine-tuning)",
    "requirements_change_within_3_months (true favours prompting)",
    "prompt_baseline_accuracy and target_accuracy (a gap of 15+ points favours fine-tuning, 5 or less favours the prompt)",
)


def rank(decision: str) -> int:
    return DECISIONS.index(decision)


def lines_text(rows: Sequence[int]) -> str:
    shown = ", ".join(str(r) for r in rows[:MAX_LINES_LISTED])
    return shown + (f" and {len(rows) - MAX_LINES_LISTED} more" if len(rows) > MAX_LINES_LISTED else "")


@dataclass
class Ruling:
    decision: str
    reasons: list[str] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)
    caps: list[dict[str, str]] = field(default_factory=list)

    def cap(self, ceiling: str, source: str, reason: str) -> None:
        """Hold the decision at `ceiling` or below; the reason is kept either way."""
        self.reasons.append(reason)
        if rank(ceiling) < rank(self.decision):
            self.caps.append({"source": source, "from": self.decision, "to": ceiling})
            self.decision = ceiling


def _error_rows(result: CheckResult | None, split: str = "train") -> list[int]:
    if result is None:
        return []
    return sorted({r for f in result.findings if f.split == split and f.severity == "error" for r in f.rows})


def blocking(by_id: Mapping[str, CheckResult], policy: Mapping[str, Any], ruling: Ruling) -> bool:
    fmt = by_id.get("format")
    if fmt is not None and fmt.status == "fail":
        ruling.cap("blocked", "format", f"format: {fmt.summary}")
        bad = _error_rows(fmt)
        ruling.steps.append(f"repair or remove the malformed training lines ({lines_text(bad)}) and audit again" if bad
                            else "provide a training file with valid records in a supported format")
    for check_id in policy["blocking_checks"]:
        result = by_id.get(check_id)
        if result is not None and result.status in ("fail", "error"):
            ruling.cap("blocked", check_id, f"{check_id}: {result.summary} (configured as blocking)")
    codes = set(policy["blocking_codes"])
    hits: dict[str, tuple[str, list[int], int]] = {}
    for result in by_id.values():
        for finding in result.findings:
            if finding.code in codes:
                split, rows, count = hits.get(finding.code, (finding.split, [], 0))
                hits[finding.code] = (split, rows + list(finding.rows), count + 1)
    for code, (split, rows, count) in sorted(hits.items()):
        ruling.cap("blocked", code, f"{code}: {count} finding(s) of a code configured as blocking")
        if rows:
            ruling.steps.append(f"fix {code} on {split} lines {lines_text(sorted(set(rows)))}")
    return ruling.decision == "blocked"


def size_ruling(size: CheckResult, ruling: Ruling) -> None:
    m = size.metrics
    usable, tier, limits = int(m["usable_examples"]), m["tier"], m["thresholds"]
    removed = m.get("duplicate_rows", m.get("exact_duplicate_rows", 0))
    counted = f"{usable} usable examples" + (f" (after removing {removed} duplicate row(s))" if removed else "")
    if tier == "insufficient":
        ruling.reasons.append(f"size: {counted} is under {limits['minimum_from']}; "
                              "a few-shot prompt built from these examples will do as well as a fine-tune")
        ruling.steps.append(f"use the best of these {usable} examples as few-shot examples in the prompt")
        ruling.steps.append(f"collect {limits['minimum_from'] - usable} more distinct examples to reach a pilot "
                            f"({limits['minimum_from']}), {limits['preferred_from'] - usable} to reach the preferred band")
    elif tier == "minimum":
        ruling.reasons.append(f"size: {counted} is in the minimum band ({limits['minimum_from']}–"
                              f"{limits['preferred_from'] - 1}): enough for a pilot, not for a production fine-tune")
        ruling.steps.append(f"collect {limits['preferred_from'] - usable} more distinct examples to reach the preferred "
                            f"band ({limits['preferred_from']})")
    else:
        band = f"{limits['preferred_from']}–{limits['strong_from'] - 1}" if tier == "preferred" else f"≥ {limits['strong_from']}"
        ruling.reasons.append(f"size: {counted} is in the {tier} band ({band}): enough to fine-tune")
        if tier == "preferred":
            ruling.steps.append(f"{limits['strong_from'] - usable} more distinct examples would make the set strong")
    thin = next((f for f in size.findings if f.code == "SIZE003"), None)
    if thin is not None:
        ruling.reasons.append(f"size: {thin.message.split(': ', 1)[-1]}")
        ruling.steps.append("collect more examples for the thin labels, or merge them into neighbouring labels")


def inconsistency(labels: CheckResult | None, rows_valid: int) -> tuple[float, int] | None:
    if labels is None or labels.status in ("error", "skipped") or not rows_valid:
        return None
    m = labels.metrics
    if "inconsistent_rows" in m:
        bad = int(m["inconsistent_rows"])
    else:
        bad = int(m.get("conflicting_rows", 0)) + int(m.get("suspected_mislabels", 0)) + int(m.get("contradictions", 0))
    return bad / rows_valid, bad


def labels_ruling(labels: CheckResult, rows_valid: int, policy: Mapping[str, Any], ruling: Ruling) -> None:
    measured = inconsistency(labels, rows_valid)
    if measured is None:
        return
    share, bad = measured
    m = labels.metrics
    if m.get("task") == "generation":
        named = (("contradicting_rows", "rows with contradicting outputs"), ("format_breaks", "outputs breaking the common format"))
    else:
        named = (("conflicting_rows", "rows with conflicting labels"), ("suspected_mislabels", "likely mislabels"),
                 ("vocabulary_variants", "label spelling variants"))
    parts = [f"{m[k]} {label}" for k, label in named if m.get(k)]
    detail = ", ".join(parts) if parts else "no inconsistencies"
    text = f"labels: {detail}; {share:.1%} of rows inconsistent"
    if share > policy["prompting_above_inconsistency"]:
        ruling.cap("keep-prompting", "labels", text + f" (over {policy['prompting_above_inconsistency']:.0%}: "
                   "a fine-tune would learn the noise)")
    elif share > policy["pilot_above_inconsistency"]:
        ruling.cap("pilot", "labels", text + f" (over {policy['pilot_above_inconsistency']:.0%}: fix before a full fine-tune)")
    elif bad or parts:
        ruling.reasons.append(text)
    for finding in labels.findings:
        if finding.severity in ("error", "warning") and finding.rows and len(ruling.steps) < 12:
            ruling.steps.append(f"{finding.code}: {finding.message} (lines {lines_text(list(finding.rows))})")
    if m.get("still_improving"):
        ruling.reasons.append(f"labels: accuracy of a probe classifier is still rising with more data "
                              f"({m.get('learning_curve')}): more examples should help")


def coverage_ruling(coverage: CheckResult | None, policy: Mapping[str, Any], ruling: Ruling) -> None:
    if coverage is None or coverage.status == "error":
        return
    if coverage.status == "skipped":
        ruling.reasons.append("coverage: no production sample given, so whether the set represents real traffic is unknown")
        ruling.steps.append("run again with --production FILE (a few hundred real production inputs) to measure coverage")
        return
    m = coverage.metrics
    value = float(m["coverage"])
    text = (f"coverage: {value:.0%} of production inputs have a training example nearby "
            f"(95% CI {m.get('coverage_ci_low', value):.0%}–{m.get('coverage_ci_high', value):.0%})")
    if value < policy["prompting_below_coverage"]:
        ruling.cap("keep-prompting", "coverage", text + " — the set does not represent production")
    elif value < policy["pilot_below_coverage"]:
        ruling.cap("pilot", "coverage", text + f" — under {policy['pilot_below_coverage']:.0%}, not ready whatever its size")
    else:
        ruling.reasons.append(text)
    for cluster in list(m.get("uncovered_clusters") or [])[:5]:
        example = (cluster.get("examples") or [{}])[0]
        text_example = example.get("text", example) if isinstance(example, Mapping) else example
        ruling.steps.append(f"collect ~{cluster.get('examples_to_collect', '?')} examples like production cluster "
                            f"{cluster.get('id')} ({cluster.get('size')} inputs, {cluster.get('share', 0):.0%}): "
                            f"'{str(text_example)[:80]}'")


def duplicates_ruling(duplicates: CheckResult | None, ruling: Ruling) -> None:
    if duplicates is None or duplicates.status in ("error", "skipped"):
        return
    m = duplicates.metrics
    if m.get("eval_leaked_rows"):
        leaked = sorted({r for f in duplicates.findings if f.code == "DUP004" for r in f.rows})
        ruling.reasons.append(f"duplicates: {m['eval_leaked_rows']} of {m['eval_rows']} eval rows "
                              f"({m['eval_leak_share']:.1%}) also appear in training, so eval scores would be inflated")
        ruling.steps.append(f"remove the leaked eval lines ({lines_text(leaked)}) or their training copies before evaluating")
    if duplicates.status == "fail":
        ruling.reasons.append(f"duplicates: {duplicates.summary}")


def tokens_ruling(tokens: CheckResult | None, ruling: Ruling) -> None:
    if tokens is None or tokens.status in ("error", "skipped"):
        return
    m = tokens.metrics
    text = (f"tokens: conversations p50 {m.get('token_p50')} / p90 {m.get('token_p90')} / max {m.get('token_max')} tokens; "
            f"training ≈ {m.get('training_tokens', 0):,} tokens over {m.get('epochs')} epoch(s) ≈ "
            f"${m.get('training_cost_usd', 0):,.2f} at ${m.get('price_per_million_training_tokens')}/M")
    ruling.reasons.append(text)
    if m.get("monthly_tokens_saved") is not None:
        months = m.get("break_even_months")
        ruling.reasons.append(f"tokens: a fine-tune would save ~{m['monthly_tokens_saved']:,} prompt tokens a month "
                              + (f"and pay back its training in {months:.1f} months" if months is not None else
                                 "but never pays back its training"))
    for finding in tokens.findings:
        if finding.code in ("TOK001", "TOK002") and finding.rows:
            ruling.steps.append(f"shorten or split the examples over the context limit (lines {lines_text(list(finding.rows))})")
            break


def sensitive_ruling(sensitive: CheckResult | None, ruling: Ruling) -> None:
    if sensitive is None or sensitive.status in ("error", "skipped", "pass"):
        return
    ruling.reasons.append(f"sensitive: {sensitive.summary} — a fine-tuned model can memorise and repeat them")
    rows = sorted({r for f in sensitive.findings for r in f.rows})
    ruling.steps.append(f"remove or mask the personal data and secrets on lines {lines_text(rows)}")


def context_ruling(context: Mapping[str, Any], data_ready: str, policy: Mapping[str, Any], ruling: Ruling) -> list[str]:
    applied = []
    if not context:
        ruling.reasons.append("context: none given, so this ruling is about data readiness only")
        ruling.steps.append("answer the context questions to settle the ruling: " + "; ".join(CONTEXT_QUESTIONS))
        return applied
    if context.get("still_experimenting"):
        applied.append("still_experimenting")
        ruling.cap("keep-prompting", "context", "context: the task is still being explored; a prompt is cheaper to change")
    if context.get("requirements_change_within_3_months"):
        applied.append("requirements_change_within_3_months")
        ruling.cap("keep-prompting", "context", "context: requirements change within 3 months; a fine-tune would need "
                   "re-collecting data and retraining each time, a prompt only an edit")
    baseline, target = context.get("prompt_baseline_accuracy"), context.get("target_accuracy")
    if baseline is not None and target is not None:
        applied.append("prompt_baseline_accuracy/target_accuracy")
        gap = (target - baseline) * 100
        if gap <= 0:
            ruling.cap("keep-prompting", "context", f"context: the prompt already reaches {baseline:.0%} against a "
                       f"{target:.0%} target; nothing for a fine-tune to close")
        elif gap <= policy["small_gap_points"]:
            ruling.cap("keep-prompting", "context", f"context: the prompt is {gap:.0f} points from the target "
                       f"({baseline:.0%} vs {target:.0%}); keep improving the prompt first")
        elif gap >= policy["large_gap_points"]:
            ruling.reasons.append(f"context: a {gap:.0f}-point gap between the prompt ({baseline:.0%}) and the target "
                                  f"({target:.0%}) is the kind a fine-tune on good data can close")
        else:
            ruling.reasons.append(f"context: a {gap:.0f}-point gap to the target; a pilot will show whether fine-tuning closes it")
    elif rank(data_ready) >= rank("pilot"):
        ruling.steps.append("measure the prompt baseline on 100–200 held-out examples and set target_accuracy")
    volume = context.get("monthly_volume")
    if volume is not None:
        applied.append("monthly_volume")
        if volume < policy["low_volume"]:
            ruling.cap("pilot", "context", f"context: {volume:,} completions a month is under {policy['low_volume']:,}; "
                       "inference savings will not repay training and upkeep")
        elif volume >= policy["high_volume"]:
            ruling.reasons.append(f"context: {volume:,} completions a month; a fine-tuned smaller model's savings add up fast")
        else:
            ruling.reasons.append(f"context: {volume:,} completions a month is in the 100k–1M crossover; cost alone "
                                  "does not settle it")
    if context.get("consistency_critical"):
        applied.append("consistency_critical")
        ruling.reasons.append("context: consistent output format and behaviour are critical, which favours fine-tuning"
                              + (" once the data is consistent" if ruling.caps else ""))
    return applied


def readiness_score(by_id: Mapping[str, CheckResult], policy: Mapping[str, Any], decision: str) -> int:
    points: list[tuple[float, float]] = []
    size = by_id.get("size")
    if size is not None and size.status not in ("error", "skipped"):
        usable, limits = size.metrics["usable_examples"], size.metrics["thresholds"]
        points.append((40 * min(1.0, math.log1p(usable) / math.log1p(2 * limits["strong_from"])), 40))
    fmt = by_id.get("format")
    if fmt is not None and "invalid_share" in fmt.metrics.get("train", {}):
        share = fmt.metrics["train"]["invalid_share"]
        points.append((10 * max(0.0, 1 - share / max(fmt.metrics.get("max_invalid_share", 0.1), 1e-9)), 10))
    dup = by_id.get("duplicates")
    if dup is not None and dup.status not in ("error", "skipped"):
        points.append((10 * max(0.0, 1 - dup.metrics.get("duplicate_rate", 0.0) / 0.2), 10))
    rows = size.metrics.get("rows_valid", 0) if size is not None else 0
    measured = inconsistency(by_id.get("labels"), rows)
    if measured is not None:
        points.append((20 * max(0.0, 1 - measured[0] / policy["prompting_above_inconsistency"]), 20))
    coverage = by_id.get("coverage")
    if coverage is not None and coverage.status not in ("error", "skipped"):
        points.append((20 * float(coverage.metrics["coverage"]), 20))
    if not points:
        return 0
    score = round(100 * sum(p for p, _ in points) / sum(m for _, m in points))
    return min(score, 10) if decision == "blocked" else score


def decide(results: Sequence[CheckResult], context: Mapping[str, Any] | None = None,
           policy: Mapping[str, Any] | None = None) -> Verdict:
    policy = {**POLICY_DEFAULTS, **(policy or {})}
    context = dict(context or {})
    by_id = {r.id: r for r in results}
    size = by_id.get("size")
    ruling = Ruling("fine-tune")
    if size is None or size.status in ("error", "skipped"):
        ruling.cap("blocked", "size", "size: the size check did not run, so the usable size is unknown"
                   + (f" ({size.summary})" if size else ""))
        ruling.steps.append("fix the error in the size check and audit again")
        blocking(by_id, policy, ruling)
        return Verdict("blocked", "unknown", 0, tuple(ruling.reasons), tuple(ruling.steps),
                       readiness_score(by_id, policy, "blocked"), "blocked", tuple(ruling.caps), ())
    tier, usable = size.metrics["tier"], int(size.metrics["usable_examples"])
    if blocking(by_id, policy, ruling):
        sensitive_ruling(by_id.get("sensitive"), ruling)
        return Verdict("blocked", tier, usable, tuple(ruling.reasons), tuple(ruling.steps),
                       readiness_score(by_id, policy, "blocked"), "blocked", tuple(ruling.caps), ())
    ruling.decision = TIER_DECISION[tier]
    size_ruling(size, ruling)
    fmt = by_id.get("format")
    bad = _error_rows(fmt)
    if bad:
        ruling.reasons.append(f"format: {len(bad)} malformed training line(s) were left out of the count")
        ruling.steps.append(f"repair the malformed training lines ({lines_text(bad)})")
    labels = by_id.get("labels")
    if labels is not None:
        labels_ruling(labels, int(size.metrics.get("rows_valid", 0)), policy, ruling)
    coverage_ruling(by_id.get("coverage"), policy, ruling)
    duplicates_ruling(by_id.get("duplicates"), ruling)
    tokens_ruling(by_id.get("tokens"), ruling)
    sensitive_ruling(by_id.get("sensitive"), ruling)
    for result in results:
        if result.status == "error":
            ruling.reasons.append(f"{result.id}: the check crashed ({result.summary}); its evidence is missing from this ruling")
    data_decision = ruling.decision
    applied = context_ruling(context, data_decision, policy, ruling)
    return Verdict(ruling.decision, tier, usable, tuple(ruling.reasons), tuple(dict.fromkeys(ruling.steps)),
                   readiness_score(by_id, policy, ruling.decision), data_decision, tuple(ruling.caps), tuple(applied))

"""The ruling: one pure function from typed check evidence, policy and context to a Verdict.

Decisions, from least to most ready: blocked, keep-prompting, pilot, fine-tune. The data decides
how far it can go (size tier, capped by malformed rows, inconsistency, production coverage and
truncation); context can only hold a ruling back, never push it past what the data supports.
Every reason names its source and numbers; next steps say what would change the ruling, the step
that lifts the binding cap first.

This module reads only the evidence types of `auditor.evidence` (never metric names or check ids);
a check that should move the ruling declares its evidence there and gets a rule function here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from auditor.evidence import (
    CapEvidence,
    ConsistencyEvidence,
    CoverageEvidence,
    DuplicatesEvidence,
    Evidence,
    FormatEvidence,
    SensitiveEvidence,
    SizeEvidence,
    TokensEvidence,
)
from auditor.results import CheckResult, Verdict

DECISIONS = ("blocked", "keep-prompting", "pilot", "fine-tune")
TIER_DECISION = {"insufficient": "keep-prompting", "minimum": "pilot", "preferred": "fine-tune", "strong": "fine-tune"}
SCORE_BANDS = {"blocked": (0, 10), "keep-prompting": (11, 49), "pilot": (50, 74), "fine-tune": (75, 100)}
MAX_LINES_LISTED = 10
MAX_STEPS = 14
POLICY_DEFAULTS: dict[str, Any] = {
    "blocking_checks": ["sensitive"],
    "blocking_codes": [],
    "pilot_below_coverage": 0.80,
    "prompting_below_coverage": 0.50,
    "pilot_above_inconsistency": 0.05,
    "prompting_above_inconsistency": 0.20,
    "pilot_above_truncated_share": 0.10,
    "low_volume": 100_000,
    "high_volume": 1_000_000,
    "small_gap_points": 5.0,
    "large_gap_points": 15.0,
}
CONTEXT_QUESTIONS = (
    "monthly_volume (completions per month: 100k+ favours fine-tuning)",
    "requirements_change_within_3_months (true favours prompting)",
    "prompt_baseline_accuracy and target_accuracy "
    "(a gap of 15+ points favours fine-tuning, 5 or less favours the prompt)",
)
E = TypeVar("E", bound=Evidence)


def rank(decision: str) -> int:
    return DECISIONS.index(decision)


def lines_text(rows: Sequence[int]) -> str:
    shown = ", ".join(str(r) for r in rows[:MAX_LINES_LISTED])
    return shown + (f" and {len(rows) - MAX_LINES_LISTED} more" if len(rows) > MAX_LINES_LISTED else "")


@dataclass
class Ruling:
    decision: str
    reasons: list[str] = field(default_factory=list)
    steps: list[tuple[float, str]] = field(default_factory=list)
    caps: list[dict[str, str]] = field(default_factory=list)

    def cap(self, ceiling: str, source: str, reason: str, steps: Sequence[str] = ()) -> None:
        """Hold the decision at `ceiling` or below; the reason is kept either way. The cap's steps are
        ranked by how low it holds the ruling (the lowest ceiling's fix comes first)."""
        self.reasons.append(reason)
        if rank(ceiling) < rank(self.decision):
            self.caps.append({"source": source, "from": self.decision, "to": ceiling})
            self.decision = ceiling
        for step in steps:
            self.step(step, 100.0 - 10 * rank(ceiling))

    def step(self, text: str, priority: float = 0.0) -> None:
        self.steps.append((priority, text))

    def ordered_steps(self) -> tuple[str, ...]:
        ranked = sorted(enumerate(self.steps), key=lambda item: (-item[1][0], item[0]))
        return tuple(dict.fromkeys(text for _, (_, text) in ranked))[:MAX_STEPS]


@dataclass(frozen=True)
class Evidences:
    """Every piece of evidence the checks set, by type."""

    items: tuple[Evidence, ...]
    errors: tuple[CheckResult, ...]
    results: tuple[CheckResult, ...]

    @classmethod
    def of(cls, results: Sequence[CheckResult]) -> Evidences:
        return cls(
            tuple(e for r in results if r.status != "error" for e in r.evidence),
            tuple(r for r in results if r.status == "error"),
            tuple(results),
        )

    def all(self, kind: type[E]) -> list[E]:
        return [e for e in self.items if isinstance(e, kind)]

    def one(self, kind: type[E]) -> E | None:
        found = self.all(kind)
        return found[0] if found else None


def blocking(found: Evidences, policy: Mapping[str, Any], ruling: Ruling) -> None:
    fmt = found.one(FormatEvidence)
    if fmt is not None and fmt.unusable:
        bad = fmt.invalid_lines
        ruling.cap(
            "blocked",
            "format",
            f"format: {fmt.reason}",
            [
                f"repair or remove the malformed training lines ({lines_text(bad)}) and audit again"
                if bad
                else "provide a training file with valid records in a supported format"
            ],
        )
    for result in found.results:
        if result.id in policy["blocking_checks"] and result.status in ("fail", "error"):
            ruling.cap("blocked", result.id, f"{result.id}: {result.summary} (configured as blocking)")
    codes = set(policy["blocking_codes"])
    hits: dict[str, tuple[str, list[int], int]] = {}
    for result in found.results:
        for finding in result.findings:
            if finding.code in codes:
                split, rows, count = hits.get(finding.code, (finding.split, [], 0))
                hits[finding.code] = (split, rows + list(finding.rows), count + 1)
    for code, (split, rows, count) in sorted(hits.items()):
        steps = [f"fix {code} on {split} lines {lines_text(sorted(set(rows)))}"] if rows else []
        ruling.cap("blocked", code, f"{code}: {count} finding(s) of a code configured as blocking", steps)


def size_ruling(size: SizeEvidence, ruling: Ruling) -> None:
    usable, tier, limits, unit = size.usable, size.tier, size.thresholds, size.unit
    removed = [
        (size.removed_duplicates, "duplicate row(s)"),
        (size.removed_untrainable, "row(s) with nothing to learn"),
        (size.removed_unpaired, "pair(s) that teach nothing"),
    ]
    removed_text = ", ".join(f"{n} {what}" for n, what in removed if n)
    counted = f"{usable} usable {unit}" + (f" (after removing {removed_text})" if removed_text else "")
    if tier == "insufficient":
        ruling.reasons.append(
            f"size: {counted} is under {limits.minimum_from}; "
            "a few-shot prompt built from these examples will do as well as a fine-tune"
        )
        ruling.step(f"use the best of these {usable} {unit} as few-shot examples in the prompt", 95)
        ruling.step(
            f"collect {limits.minimum_from - usable} more distinct {unit} to reach a pilot "
            f"({limits.minimum_from}), {limits.preferred_from - usable} to reach the preferred band",
            90,
        )
    elif tier == "minimum":
        ruling.reasons.append(
            f"size: {counted} is in the minimum band ({limits.minimum_from}–"
            f"{limits.preferred_from - 1}): enough for a pilot, not for a production fine-tune"
        )
        ruling.step(
            f"collect {limits.preferred_from - usable} more distinct {unit} to reach the preferred "
            f"band ({limits.preferred_from})",
            80,
        )
    else:
        band = f"{limits.preferred_from}–{limits.strong_from - 1}" if tier == "preferred" else f"≥ {limits.strong_from}"
        ruling.reasons.append(f"size: {counted} is in the {tier} band ({band}): enough to fine-tune")
        if tier == "preferred":
            ruling.step(f"{limits.strong_from - usable} more distinct {unit} would make the set strong", 5)
    if size.thin_labels:
        listed = ", ".join(f"'{label}' ({n})" for label, n in size.thin_labels[:10])
        ruling.reasons.append(
            f"size: {len(size.thin_labels)} label(s) under {size.min_examples_per_label} usable examples: {listed}"
        )
        ruling.step("collect more examples for the thin labels, or merge them into neighbouring labels", 20)


CONSISTENCY_WORDS = {
    "labels": "labels",
    "outputs": "outputs",
    "preference": "preference pairs",
}


def consistency_ruling(evidence: ConsistencyEvidence, policy: Mapping[str, Any], ruling: Ruling) -> None:
    source = evidence.source
    if evidence.single_label is not None:
        ruling.cap(
            "keep-prompting",
            source,
            f"{source}: every row carries the label '{evidence.single_label}'; "
            "a classifier trained on one label learns nothing",
            ["add examples of the other labels the task needs (at least two labels), or answer with a rule"],
        )
        return
    share = evidence.share
    parts = [f"{p.rows} {p.what}" for p in evidence.parts if p.rows]
    detail = ", ".join(parts) if parts else "no inconsistencies"
    text = f"{source}: {detail}; {share:.1%} of {CONSISTENCY_WORDS.get(source, 'rows')} inconsistent"
    fixes = [
        f"{hint.code}: {hint.text} (lines {lines_text(list(hint.lines))})"
        for hint in sorted(evidence.steps, key=lambda h: -h.rows)[:4]
    ]
    if share > policy["prompting_above_inconsistency"]:
        ruling.cap(
            "keep-prompting",
            source,
            text + f" (over {policy['prompting_above_inconsistency']:.0%}: a fine-tune would learn the noise)",
            fixes,
        )
    elif share > policy["pilot_above_inconsistency"]:
        ruling.cap(
            "pilot",
            source,
            text + f" (over {policy['pilot_above_inconsistency']:.0%}: fix before a full fine-tune)",
            fixes,
        )
    else:
        if evidence.inconsistent_rows or parts:
            ruling.reasons.append(text)
        for hint in sorted(evidence.steps, key=lambda h: -h.rows)[:4]:
            ruling.step(f"{hint.code}: {hint.text} (lines {lines_text(list(hint.lines))})", min(hint.rows, 30) / 10)
    if evidence.still_improving:
        curve = " → ".join(f"{a:.3f}" for a in evidence.learning_curve)
        ruling.reasons.append(
            f"{source}: accuracy of a probe classifier is still rising with more data ({curve}): "
            "more examples should help"
        )


def coverage_ruling(
    coverage: CoverageEvidence | None, crashed: bool, policy: Mapping[str, Any], ruling: Ruling
) -> None:
    if coverage is None:
        if not crashed:
            ruling.reasons.append(
                "coverage: no production sample given, so whether the set represents real traffic is unknown"
            )
            ruling.step(
                "run again with --production FILE (a few hundred real production inputs) to measure coverage", 30
            )
        return
    value = coverage.coverage
    text = (
        f"coverage: {value:.0%} of production inputs have a training example nearby "
        f"(95% CI {coverage.ci_low:.0%}–{coverage.ci_high:.0%})"
    )
    steps = []
    for cluster in coverage.uncovered[:5]:
        like = (
            f", like '{cluster.nearest_label}'" + (" (a sibling not covered by it)" if cluster.sibling else "")
            if cluster.nearest_label
            else ""
        )
        steps.append(
            f"collect ~{cluster.examples_to_collect} examples like production cluster {cluster.id} "
            f"({cluster.size} inputs, {cluster.share:.0%}{like}): '{cluster.example[:80]}'"
        )
    if value < policy["prompting_below_coverage"]:
        ruling.cap("keep-prompting", "coverage", text + " — the set does not represent production", steps)
    elif value < policy["pilot_below_coverage"]:
        ruling.cap(
            "pilot",
            "coverage",
            text + f" — under {policy['pilot_below_coverage']:.0%}, not ready whatever its size",
            steps,
        )
    else:
        ruling.reasons.append(text)
        for step in steps:
            ruling.step(step, 10)


def duplicates_ruling(duplicates: DuplicatesEvidence | None, ruling: Ruling) -> None:
    if duplicates is None:
        return
    leaked = duplicates.eval_leaked_lines
    if leaked:
        share = len(leaked) / duplicates.eval_rows if duplicates.eval_rows else 0.0
        ruling.reasons.append(
            f"duplicates: {len(leaked)} of {duplicates.eval_rows} eval rows ({share:.1%}) also "
            "appear in training, so eval scores would be inflated"
        )
        ruling.step(
            f"remove the leaked eval lines ({lines_text(list(leaked))}) or their training copies before evaluating", 40
        )
    if duplicates.too_many:
        ruling.reasons.append(
            f"duplicates: {duplicates.duplicate_rows} duplicate rows, {duplicates.duplicate_rate:.1%} "
            f"of the set (more than {duplicates.max_duplicate_rate:.0%}); they do not count as usable"
        )


def tokens_ruling(tokens: TokensEvidence | None, policy: Mapping[str, Any], ruling: Ruling) -> None:
    if tokens is None:
        return
    ruling.reasons.append(
        f"tokens ({tokens.target}): p50 {tokens.p50} / p90 {tokens.p90} / max {tokens.max} tokens; "
        f"training ≈ {tokens.training_tokens:,} tokens over {tokens.epochs} epoch(s) ≈ "
        f"${tokens.cost_usd:,.2f} at ${tokens.price_per_million:g}/M"
    )
    hit = list(tokens.lost_lines)
    if not hit:
        return
    share = tokens.truncated_share
    text = (
        f"tokens: {len(hit)} of {tokens.rows} rows ({share:.0%}) lose trained tokens to the "
        f"{tokens.max_seq_len:,}-token "
        "limit (truncated, dropped or left with nothing to learn)"
    )
    fix = (
        f"raise the maximum sequence length above {tokens.max_seq_len:,}, shorten the prompts or split the "
        f"conversations of lines {lines_text(hit)}"
    )
    if share > policy["pilot_above_truncated_share"]:
        ruling.cap(
            "pilot",
            "tokens",
            text + f" — over {policy['pilot_above_truncated_share']:.0%}, the model would learn cut-off answers",
            [fix],
        )
    else:
        ruling.reasons.append(text)
        ruling.step(fix, 15)


def sensitive_ruling(sensitive: SensitiveEvidence | None, ruling: Ruling) -> None:
    if sensitive is None or not sensitive.lines:
        return
    kinds = ", ".join(f"{n} {kind}" for kind, n in sensitive.kinds)
    ruling.reasons.append(
        f"sensitive: {kinds} on {len(sensitive.lines)} line(s) — a fine-tuned model can memorise and repeat them"
    )
    ruling.step(
        f"remove or mask the personal data and secrets on lines {lines_text(list(sensitive.lines))}",
        100 if sensitive.blocking_kinds else 25,
    )


def volume_ruling(volume: int, tokens: TokensEvidence | None, policy: Mapping[str, Any], ruling: Ruling) -> None:
    """One source of truth for cost: the tokens check's break-even when it could compute one, else the volume bands."""
    pays_back = tokens.pays_back if tokens is not None else None
    if tokens is not None and pays_back is not None:
        saved = f"{volume:,} completions a month save ~{tokens.monthly_tokens_saved:,} prompt tokens"
        months = tokens.break_even_months
        if pays_back and months is not None:
            ruling.reasons.append(
                f"context: {saved}; the fine-tune pays back its training in {months:.1f} months "
                f"(within {tokens.horizon_months:g})"
            )
        else:
            when = f"only after {months:.1f} months" if months is not None else "never"
            ruling.cap(
                "pilot",
                "context",
                f"context: {saved}; the fine-tune repays its training {when} (beyond {tokens.horizon_months:g} months)",
                ["keep the prompt unless quality, latency or consistency justify the training cost"],
            )
        return
    if volume < policy["low_volume"]:
        ruling.cap(
            "pilot",
            "context",
            f"context: {volume:,} completions a month is under {policy['low_volume']:,}; "
            "inference savings will not repay training and upkeep",
            ["give current_prompt_tokens in the context to compute the break-even exactly"],
        )
    elif volume >= policy["high_volume"]:
        ruling.reasons.append(
            f"context: {volume:,} completions a month; a fine-tuned smaller model's savings add up fast"
        )
    else:
        ruling.reasons.append(
            f"context: {volume:,} completions a month is in the 100k–1M crossover; cost alone does not settle it"
        )


def context_ruling(
    context: Mapping[str, Any],
    data_ready: str,
    tokens: TokensEvidence | None,
    policy: Mapping[str, Any],
    ruling: Ruling,
) -> list[str]:
    applied: list[str] = []
    if not context:
        ruling.reasons.append("context: none given, so this ruling is about data readiness only")
        ruling.step("answer the context questions to settle the ruling: " + "; ".join(CONTEXT_QUESTIONS), -10)
        return applied
    if context.get("still_experimenting"):
        applied.append("still_experimenting")
        ruling.cap(
            "keep-prompting", "context", "context: the task is still being explored; a prompt is cheaper to change"
        )
    if context.get("requirements_change_within_3_months"):
        applied.append("requirements_change_within_3_months")
        ruling.cap(
            "keep-prompting",
            "context",
            "context: requirements change within 3 months; a fine-tune would need "
            "re-collecting data and retraining each time, a prompt only an edit",
        )
    baseline, target = context.get("prompt_baseline_accuracy"), context.get("target_accuracy")
    if baseline is not None and target is not None:
        applied.append("prompt_baseline_accuracy/target_accuracy")
        gap = (target - baseline) * 100
        if gap <= 0:
            ruling.cap(
                "keep-prompting",
                "context",
                f"context: the prompt already reaches {baseline:.0%} against a "
                f"{target:.0%} target; nothing for a fine-tune to close",
            )
        elif gap <= policy["small_gap_points"]:
            ruling.cap(
                "keep-prompting",
                "context",
                f"context: the prompt is {gap:.0f} points from the target "
                f"({baseline:.0%} vs {target:.0%}); keep improving the prompt first",
            )
        elif gap >= policy["large_gap_points"]:
            ruling.reasons.append(
                f"context: a {gap:.0f}-point gap between the prompt ({baseline:.0%}) and the target "
                f"({target:.0%}) is the kind a fine-tune on good data can close"
            )
        else:
            ruling.reasons.append(
                f"context: a {gap:.0f}-point gap to the target; a pilot will show whether fine-tuning closes it"
            )
    elif rank(data_ready) >= rank("pilot"):
        ruling.step("measure the prompt baseline on 100–200 held-out examples and set target_accuracy", -5)
    volume = context.get("monthly_volume")
    if volume is not None:
        applied.append("monthly_volume")
        volume_ruling(int(volume), tokens, policy, ruling)
    if context.get("consistency_critical"):
        applied.append("consistency_critical")
        ruling.reasons.append(
            "context: consistent output format and behaviour are critical, which favours fine-tuning"
            + (" once the data is consistent" if ruling.caps else "")
        )
    return applied


def readiness_score(found: Evidences, policy: Mapping[str, Any], decision: str) -> int:
    """0–100 from size 40, consistency 20, coverage 20, validity 10, duplicates 10 (components that did not run
    are left out), then held inside the band of the decision: blocked ≤ 10, keep-prompting ≤ 49, pilot ≤ 74."""
    points: list[tuple[float, float]] = []
    size = found.one(SizeEvidence)
    if size is not None:
        strong = size.thresholds.strong_from
        points.append((40 * min(1.0, math.log1p(size.usable) / math.log1p(2 * strong)), 40))
    fmt = found.one(FormatEvidence)
    if fmt is not None:
        points.append((10 * max(0.0, 1 - fmt.invalid_share / max(fmt.max_invalid_share, 1e-9)), 10))
    dup = found.one(DuplicatesEvidence)
    if dup is not None:
        points.append((10 * max(0.0, 1 - dup.duplicate_rate / 0.2), 10))
    consistency = found.all(ConsistencyEvidence)
    if consistency:
        worst = max(1.0 if e.single_label is not None else e.share for e in consistency)
        points.append((20 * max(0.0, 1 - worst / policy["prompting_above_inconsistency"]), 20))
    coverage = found.one(CoverageEvidence)
    if coverage is not None:
        points.append((20 * coverage.coverage, 20))
    if not points:
        return 0
    score = round(100 * sum(p for p, _ in points) / sum(m for _, m in points))
    return min(score, SCORE_BANDS[decision][1])


def decide(
    results: Sequence[CheckResult], context: Mapping[str, Any] | None = None, policy: Mapping[str, Any] | None = None
) -> Verdict:
    policy = {**POLICY_DEFAULTS, **(policy or {})}
    context = dict(context or {})
    found = Evidences.of(results)
    size = found.one(SizeEvidence)
    ruling = Ruling("fine-tune")
    if size is None:
        crashed = "; ".join(f"{r.id}: {r.summary}" for r in found.errors)
        ruling.cap(
            "blocked",
            "size",
            "size: the usable size is unknown (no size evidence)" + (f"; crashed: {crashed}" if crashed else ""),
            ["fix the crashed check and audit again"],
        )
        blocking(found, policy, ruling)
        return Verdict(
            "blocked",
            "unknown",
            0,
            tuple(ruling.reasons),
            ruling.ordered_steps(),
            readiness_score(found, policy, "blocked"),
            "blocked",
            tuple(ruling.caps),
            (),
        )
    blocking(found, policy, ruling)
    if ruling.decision == "blocked":
        sensitive_ruling(found.one(SensitiveEvidence), ruling)
        return Verdict(
            "blocked",
            size.tier,
            size.usable,
            tuple(ruling.reasons),
            ruling.ordered_steps(),
            readiness_score(found, policy, "blocked"),
            "blocked",
            tuple(ruling.caps),
            (),
        )
    ruling.decision = TIER_DECISION[size.tier]
    size_ruling(size, ruling)
    fmt = found.one(FormatEvidence)
    if fmt is not None and fmt.invalid_lines:
        ruling.reasons.append(f"format: {len(fmt.invalid_lines)} malformed training line(s) were left out of the count")
        ruling.step(f"repair the malformed training lines ({lines_text(fmt.invalid_lines)})", 12)
    for evidence in found.all(ConsistencyEvidence):
        consistency_ruling(evidence, policy, ruling)
    coverage_ruling(found.one(CoverageEvidence), bool(found.errors), policy, ruling)
    duplicates_ruling(found.one(DuplicatesEvidence), ruling)
    tokens = found.one(TokensEvidence)
    tokens_ruling(tokens, policy, ruling)
    sensitive_ruling(found.one(SensitiveEvidence), ruling)
    for cap in found.all(CapEvidence):
        ruling.cap(
            cap.ceiling,
            "check",
            cap.reason,
            [f"{h.code}: {h.text}" + (f" (lines {lines_text(list(h.lines))})" if h.lines else "") for h in cap.steps],
        )
    for result in found.errors:
        ruling.reasons.append(
            f"{result.id}: the check crashed ({result.summary}); its evidence is missing from this ruling"
        )
    data_decision = ruling.decision
    applied = context_ruling(context, data_decision, tokens, policy, ruling)
    return Verdict(
        ruling.decision,
        size.tier,
        size.usable,
        tuple(ruling.reasons),
        ruling.ordered_steps(),
        readiness_score(found, policy, ruling.decision),
        data_decision,
        tuple(ruling.caps),
        tuple(applied),
    )

"""Preference: DPO pairs and KTO rows audited as pairs — do they pair, disagree, or teach length and refusals?

What it checks (training sets whose task is `preference`: TRL standard / conversational / implicit
prompt, OpenAI preference, LLaMA-Factory alpaca / sharegpt preference, TRL KTO)
  - Pairing (PREF001): both sides answer the same prompt. Conversational sides must agree on every
    turn before the final one (role and content after normalisation) and each must end with one
    assistant reply. The row's line and the first turn that differs are named. Implicit-prompt pairs
    (TRL `chosen`/`rejected` transcripts) whose sides share the first user turn and part later, at
    a user, system or earlier assistant turn, are loaded as pairs and reported here; sides that
    share no user turn cannot form a pair and are the loader's FMT016.
  - Identical sides (PREF002): chosen equal to rejected after normalisation (NFKC, case folding,
    spaces, surrounding punctuation), or one word insertion, deletion or substitution apart when
    both replies have at least `near_identical_min_words` words and the edited word is not a
    number, a negation or a yes/no-like word ("not", "never", "yes", "wrong", "all", ...): a pair
    "The answer is 5" / "The answer is 6" is a deliberate minimal pair, not a copy.
  - Contradictions (PREF003): the same prompt (or a near-duplicate prompt, as the duplicates check
    groups them, with `near_prompts`) with reply A preferred over B in one row and B over A in
    another (replies compared after normalisation). Every row on either side is listed.
  - Ratings (PREF004), when the rows carry them (`chosen_rating`/`rejected_rating`, `score_chosen`/
    `score_rejected`, UltraFeedback's `chosen-rating`/`rejected-rating`): ties (equal ratings, as
    Argilla's UltraFeedback clean-up removed) and reversed pairs (chosen rated below rejected); the
    distribution of the margin (chosen − rejected) is in the metrics.
  - Length bias (PREF005): the chosen/rejected ratio of reply tokens (the [tokens] encoding,
    cl100k_base by default, read offline): median ratio, share of pairs whose chosen reply is
    longer, shorter, more than twice as long, and the accuracy of "always prefer the longer (or the
    shorter) reply". Over `max_length_predictiveness` with at least `min_pairs_for_length_bias`
    pairs, length alone predicts the preference: a warning. The ratio distribution is in the
    metrics (`length.ratio_bins`) and charted on the HTML scorecard.
  - Refusals (PREF006): share of chosen and of rejected replies that are refusals (a documented
    pattern list, `auditor.pairs.REFUSAL_PATTERNS`, searched in the first 300 characters: "I'm
    sorry, but I can't…", "I cannot help with…", "As an AI…", "I must decline…", "against my
    guidelines", ...), and the pairs where only one side refuses. A warning when the shares differ
    by more than `max_refusal_gap`, else information.
  - Repeated pairs (PREF007): the same prompt (exact or near) with the same chosen and rejected
    reply (or, for KTO, the same completion and label) again; they count once.
  - Prompts (PREF008): pairs per prompt (several pairs per prompt are normal: counted in the
    metrics) and rows whose prompts are near-duplicates of another prompt, not exact repeats.
    Leakage of prompts into --eval is the duplicates check's (DUP004: the prompt is the input);
    coverage of production inputs by the prompts is the coverage check's.
  - KTO rows (`prompt`, `completion`, `label`): the desirable/undesirable balance (PREF009: TRL's
    KTOTrainer needs both; its documentation asks for desirable_weight × desirable :
    undesirable_weight × undesirable between 1:1 and 4:3, and the finding gives the weights that do
    it) and the same prompt and completion labelled both ways (PREF010).
  Every row is annotated with `pair_issue` (the strongest of PREF001, PREF002, PREF004, PREF003,
  PREF010, PREF007, or null) and `length_ratio`.

Why it matters
  DPO learns the difference between the two sides: identical sides teach nothing, a pair and its
  mirror image cancel out, sides answering different prompts teach noise, and a systematic length
  or refusal difference is learned as the preference itself (DPO's implicit reward correlates with
  length: SamPO, LD-DPO). The ruling counts mismatched + identical + tied/reversed + contradicting
  pairs (and KTO rows labelled both ways) as inconsistent, the way it counts conflicting labels,
  and the size check counts usable pairs: valid, distinct, and free of those issues.

Failing example
  prefs.jsonl: line 12 prefers "Reset it from Settings > Security." over "Call us." for "How do I
  reset my PIN?" and line 40 prefers "Call us." over it for the same prompt; line 7's sides are the
  same text; line 19's rejected conversation has another first user turn; the chosen reply is the
  longer one in 88% of pairs (median ratio 2.4×).

How to fix
  Drop or re-rank contradicting and tied pairs, drop identical ones, rebuild mismatched pairs from
  one prompt, balance lengths (pick rejected replies of similar length, or use a length-normalised
  objective such as SimPO / LD-DPO), keep the refusal share close to what production should see,
  and give KTO's rarer label more weight.

Calibration (bench/preference_bench.py, all-MiniLM-L6-v2, cl100k_base, 2 CPU cores)
  2,000 pairs built from GSM8K (the worked answer over another problem's answer) and from Banking77
  (a canned reply of the right intent over one of a wrong intent, replies written from the intent
  names), 3% of the rows per defect (mismatched sides, identical / one-word-apart sides, mirrored
  copies with the prompt unchanged, re-cased, re-spaced or with a typo, tied ratings, repeated
  pairs, chosen refusals), 3 seeds: precision 1.000 and recall 1.000 for every defect on both
  sets, from this check's findings alone (the mismatched sides are implicit-prompt conversations
  sharing the first user turn that part at a later user turn or an earlier assistant turn, or end
  with a user turn: all load as pairs, none is refused by the loader; the refusal phrasings were
  written alongside the pattern list, so their recall is optimistic).
  GSM8K with the rejected answer drawn at most 3/4 as long: chosen longer in 98.4% of pairs,
  PREF005; the same prompts with rejected answers drawn at random: 49.9%, no finding. KTO rows
  with copies labelled the other way: PREF010 precision and recall 1.000. Refusal patterns on
  7,908 real replies (GSM8K answers, self-instruct outputs, cookbook assistant turns) flag only
  one, a real refusal. 10,003 Banking77 pairs: the check takes about 1 s once the shared
  near-duplicate prompt groups exist (2.5 s of CPU).

Config ([preference] in ftaudit.toml)
  near_prompts = true                 near-duplicate prompts count as the same prompt (needs embeddings)
  near_identical_min_words = 5        one-word-apart sides are flagged from this many words
  min_pairs_for_length_bias = 30      fewer pairs: no length-bias finding
  max_length_predictiveness = 0.75    "prefer the longer (shorter) reply" right more often: PREF005
  max_refusal_gap = 0.05              refusal shares of the two sides further apart: a warning
  kto_max_ratio = 1.3333              desirable : undesirable (weighted) above this or below 1: PREF009
  max_inconsistent_share = 0.20       the check fails above this share of inconsistent rows
  max_rows_listed = 200               rows listed per finding in its data

Codes
  PREF001 sides that do not answer the same prompt · PREF002 identical or one-word-apart sides
  PREF003 contradicting preferences · PREF004 tied or reversed ratings · PREF005 length bias
  PREF006 refusal shares differ between sides · PREF007 repeated pairs · PREF008 near-duplicate
  prompts · PREF009 KTO label imbalance · PREF010 KTO completion labelled both ways
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from auditor.evidence import ConsistencyEvidence, Inconsistency, StepHint
from auditor.pairs import PairAnalysis, is_refusal, pair_analysis
from auditor.results import CheckResult, Finding

if TYPE_CHECKING:
    from auditor.context import AuditContext

ID = "preference"
FAMILY = "PREF"
CODES = {
    "PREF001": "pair sides that do not answer the same prompt",
    "PREF002": "chosen and rejected identical or one word apart",
    "PREF003": "contradicting preferences (A over B and B over A)",
    "PREF004": "tied or reversed ratings",
    "PREF005": "reply length alone predicts the preference",
    "PREF006": "refusal shares differ between chosen and rejected",
    "PREF007": "repeated pairs",
    "PREF008": "near-duplicate prompts",
    "PREF009": "KTO desirable/undesirable imbalance",
    "PREF010": "KTO completion labelled both ways",
}
DEFAULTS: dict[str, Any] = {
    "near_prompts": True,
    "near_identical_min_words": 5,
    "min_pairs_for_length_bias": 30,
    "max_length_predictiveness": 0.75,
    "max_refusal_gap": 0.05,
    "kto_max_ratio": 1.3333,
    "max_inconsistent_share": 0.20,
    "max_rows_listed": 200,
}
RATIO_EDGES = (0.25, 0.5, 2 / 3, 0.9, 1.1, 1.5, 2.0, 4.0)
FIXES = {
    "PREF001": "rebuild the pairs whose sides answer different prompts",
    "PREF002": "drop the pairs whose sides are identical or one word apart",
    "PREF003": "settle the contradicting pairs: keep one order per prompt",
    "PREF004": "drop or re-rate the tied and reversed pairs",
    "PREF010": "give each KTO completion one label",
}


def share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def ratio_bins(ratios: Sequence[float]) -> list[dict[str, Any]]:
    """Pairs per bin of the chosen/rejected token ratio (the last bin is open-ended)."""
    edges = (0.0, *RATIO_EDGES, None)
    counts = [0] * (len(edges) - 1)
    for ratio in ratios:
        counts[next((k for k, edge in enumerate(RATIO_EDGES) if ratio < edge), len(RATIO_EDGES))] += 1
    return [
        {"from": round(lo, 3), "to": round(hi, 3) if hi is not None else None, "pairs": n}
        for lo, hi, n in zip(edges[:-1], edges[1:], counts)
    ]


def token_counts(ctx: AuditContext, texts: Sequence[str | None]) -> tuple[str, list[int]]:
    """Tokens of each text with the [tokens] target's tokenizer (cl100k_base by default), each distinct text once."""
    from auditor.targets.rows import DEFAULT_TARGET, target_of

    config = ctx.config.section("tokens")
    try:
        target = target_of(config)
        encoder = target.encoder(str(config.get("encoding") or "") if target.name == DEFAULT_TARGET else "")
    except Exception:  # a target whose tokenizer cannot be read offline: whitespace words, said so in the metrics
        return "words", [len(t.split()) if t else 0 for t in texts]
    count = getattr(encoder, "ordinary", encoder.ids)
    counts = {text: len(count(text)) for text in dict.fromkeys(t for t in texts if t)}
    return target.name, [counts.get(t, 0) if t else 0 for t in texts]


def length_bias(
    ctx: AuditContext, lines: Sequence[int], chosen: Sequence[str], rejected: Sequence[str], config: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[int, float], Finding | None]:
    tokenizer, counts = token_counts(ctx, [*chosen, *rejected])
    n = len(chosen)
    ratios = {line: counts[k] / max(counts[n + k], 1) for k, line in enumerate(lines) if counts[k] + counts[n + k]}
    values = list(ratios.values())
    longer = share(sum(1 for r in values if r > 1), len(values))
    shorter = share(sum(1 for r in values if r < 1), len(values))
    equal = 1 - longer - shorter if values else 0.0
    predictiveness = max(longer, shorter) + equal / 2 if values else 0.0
    median = round(statistics.median(values), 3) if values else None
    metrics = {
        "tokenizer": tokenizer,
        "pairs": len(values),
        "median_ratio": median,
        "chosen_longer_share": longer,
        "chosen_shorter_share": shorter,
        "equal_share": round(equal, 4),
        "over_2x_share": share(sum(r > 2 for r in values), len(values)),
        "under_half_share": share(sum(r < 0.5 for r in values), len(values)),
        "predictiveness": round(predictiveness, 4),
        "ratio_bins": ratio_bins(values),
    }
    if len(values) < config["min_pairs_for_length_bias"] or predictiveness <= config["max_length_predictiveness"]:
        return metrics, ratios, None
    side = "longer" if longer >= shorter else "shorter"
    rows = [line for line, r in ratios.items() if (r > 1 if side == "longer" else r < 1)]
    message = (
        f"{ctx.train.path.name}: the chosen reply is the {side} one in {max(longer, shorter):.0%} of "
        f"{len(values):,} pairs (median chosen/rejected ratio {median}×, {tokenizer} tokens): length alone "
        f"predicts the preference, and DPO will learn to be {'verbose' if side == 'longer' else 'terse'}"
    )
    data = {k: metrics[k] for k in ("median_ratio", "chosen_longer_share", "chosen_shorter_share", "predictiveness")}
    return metrics, ratios, Finding("PREF005", "warning", message, tuple(rows), data)


def refusals(
    name: str,
    lines: Sequence[int],
    desirable: Sequence[str | None],
    undesirable: Sequence[str | None],
    config: Mapping[str, Any],
) -> tuple[dict[str, Any], Finding | None]:
    """Per row, the chosen / rejected reply (a KTO row: its completion on its label's side, None on the other)."""
    good = [is_refusal(t) if t is not None else None for t in desirable]
    bad = [is_refusal(t) if t is not None else None for t in undesirable]
    good_share = share(sum(bool(g) for g in good), sum(g is not None for g in good))
    bad_share = share(sum(bool(b) for b in bad), sum(b is not None for b in bad))
    prefers_refusal = [line for line, g, b in zip(lines, good, bad) if g and not b]
    prefers_answer = [line for line, g, b in zip(lines, good, bad) if b and g is False]
    metrics = {
        "chosen_share": good_share,
        "rejected_share": bad_share,
        "chosen_refusals": sum(bool(g) for g in good),
        "rejected_refusals": sum(bool(b) for b in bad),
        "pairs_preferring_refusal": len(prefers_refusal),
        "pairs_preferring_answer": len(prefers_answer),
    }
    if not prefers_refusal and not prefers_answer:
        return metrics, None
    severity = "warning" if abs(good_share - bad_share) > config["max_refusal_gap"] else "info"
    message = (
        f"{name}: {good_share:.1%} of chosen and {bad_share:.1%} of rejected replies are refusals; "
        f"{len(prefers_refusal)} pair(s) prefer a refusal to an answer, {len(prefers_answer)} an answer to "
        "a refusal"
        + ("; the tuned model learns that refusal rate: compare it with production" if severity == "warning" else "")
    )
    cap = config["max_rows_listed"]
    data = {
        "chosen_share": good_share,
        "rejected_share": bad_share,
        "prefers_refusal": prefers_refusal[:cap],
        "prefers_answer": prefers_answer[:cap],
    }
    return metrics, Finding("PREF006", severity, message, tuple(prefers_refusal + prefers_answer), data)


def listed(values: Mapping[int, Any], cap: int) -> dict[str, Any]:
    return {str(k): list(v) if isinstance(v, tuple) else v for k, v in sorted(values.items())[:cap]}


def pair_findings(name: str, a: PairAnalysis, config: Mapping[str, Any]) -> list[Finding]:
    cap = config["max_rows_listed"]
    findings = []
    if a.mismatched:
        first = min(a.mismatched)
        message = (
            f"{name}: {len(a.mismatched)} pair(s) whose sides do not answer the same prompt "
            f"(line {first}: {a.mismatched[first]})"
        )
        findings.append(Finding("PREF001", "error", message, tuple(a.mismatched), {"why": listed(a.mismatched, cap)}))
    if a.identical:
        same = sum(1 for v in a.identical.values() if v == "identical")
        message = (
            f"{name}: {len(a.identical)} pair(s) with nothing to learn: {same} with identical sides, "
            f"{len(a.identical) - same} one word apart"
        )
        findings.append(
            Finding(
                "PREF002",
                "warning",
                message,
                tuple(a.identical),
                {"identical": same, "one_word_apart": len(a.identical) - same},
            )
        )
    if a.contradictions:
        pairs = sorted({(min(line, o), max(line, o)) for line, others in a.contradictions.items() for o in others})
        message = (
            f"{name}: {len(a.contradictions)} row(s) prefer A over B where another row prefers B over A for "
            f"the same prompt (e.g. lines {pairs[0][0]} and {pairs[0][1]})"
        )
        findings.append(
            Finding("PREF003", "warning", message, tuple(a.contradictions), {"pairs": [list(p) for p in pairs[:cap]]})
        )
    if a.ratings:
        ties = sum(1 for v in a.ratings.values() if v == "tie")
        message = (
            f"{name}: {ties} pair(s) with tied ratings and {len(a.ratings) - ties} with the chosen reply "
            "rated below the rejected one"
        )
        findings.append(
            Finding("PREF004", "warning", message, tuple(a.ratings), {"ties": ties, "reversed": len(a.ratings) - ties})
        )
    if a.duplicates:
        message = (
            f"{name}: {len(a.duplicates)} row(s) repeat an earlier pair (same prompt, same chosen and "
            "rejected reply) and count once"
        )
        findings.append(
            Finding("PREF007", "info", message, tuple(a.duplicates), {"first_line": listed(a.duplicates, cap)})
        )
    if a.kto_conflicts:
        message = (
            f"{name}: {len(a.kto_conflicts)} KTO row(s) label the same prompt and completion both "
            "desirable and undesirable"
        )
        findings.append(
            Finding(
                "PREF010", "warning", message, tuple(a.kto_conflicts), {"opposite_lines": listed(a.kto_conflicts, cap)}
            )
        )
    return findings


def prompt_stats(name: str, a: PairAnalysis) -> tuple[dict[str, Any], Finding | None]:
    sizes: dict[int, int] = {}
    members: dict[int, set[int]] = {}
    for group, exact in zip(a.prompt_group, a.exact_prompt):
        sizes[group] = sizes.get(group, 0) + 1
        members.setdefault(group, set()).add(exact)
    counts = sorted(sizes.values()) or [0]
    near_rows = [
        line
        for line, group, exact in zip(a.lines, a.prompt_group, a.exact_prompt)
        if len(members[group]) > 1 and exact != group
    ]
    metrics = {
        "prompts": len(sizes),
        "prompts_with_several_pairs": sum(1 for c in counts if c > 1),
        "pairs_per_prompt": {
            "mean": round(len(a.lines) / max(len(sizes), 1), 3),
            "p50": counts[len(counts) // 2],
            "max": counts[-1],
        },
        "near_duplicate_prompt_rows": len(near_rows),
    }
    if not near_rows:
        return metrics, None
    message = (
        f"{name}: {len(near_rows)} row(s) have a prompt that nearly repeats another row's prompt; they are "
        "grouped as one prompt for contradictions and repeats"
    )
    return metrics, Finding("PREF008", "info", message, tuple(near_rows), {})


def kto_balance(name: str, labels: Sequence[Any], config: Mapping[str, Any]) -> tuple[dict[str, Any], Finding | None]:
    desirable = sum(1 for label in labels if label is True)
    undesirable = sum(1 for label in labels if label is False)
    ratio = desirable / undesirable if undesirable else None
    metrics: dict[str, Any] = {
        "desirable": desirable,
        "undesirable": undesirable,
        "ratio": round(ratio, 4) if ratio is not None else None,
    }
    if ratio is None or not desirable:
        missing = "undesirable" if desirable else "desirable"
        message = f"{name}: no {missing} KTO rows: TRL's KTOTrainer needs both labels"
        return metrics, Finding("PREF009", "error", message, (), metrics)
    if 1.0 <= ratio <= config["kto_max_ratio"]:
        return metrics, None
    weight = ("undesirable_weight", round(ratio, 2)) if ratio > 1 else ("desirable_weight", round(1 / ratio, 2))
    metrics["suggested_weight"] = {weight[0]: weight[1]}
    message = (
        f"{name}: {desirable:,} desirable and {undesirable:,} undesirable KTO rows (ratio {ratio:.2f}); "
        f"TRL asks for a weighted ratio between 1:1 and 4:3: set {weight[0]} ≈ {weight[1]}"
    )
    return metrics, Finding("PREF009", "info", message, (), metrics)


def evidence(a: PairAnalysis, findings: list[Finding]) -> ConsistencyEvidence:
    ties = sum(1 for v in a.ratings.values() if v == "tie")
    parts = (
        Inconsistency("pairs whose sides do not answer the same prompt", len(a.mismatched)),
        Inconsistency("pairs with identical or one-word-apart sides", len(a.identical)),
        Inconsistency("pairs with tied ratings", ties),
        Inconsistency("pairs with the chosen reply rated below the rejected", len(a.ratings) - ties),
        Inconsistency("rows contradicting another pair", len(a.contradictions)),
        Inconsistency("KTO rows labelled both ways", len(a.kto_conflicts)),
    )
    steps = tuple(StepHint(f.code, FIXES[f.code], f.rows, len(f.rows)) for f in findings if f.code in FIXES)
    return ConsistencyEvidence(
        "preference", len(a.lines), len(a.inconsistent), tuple(p for p in parts if p.rows), steps=steps
    )


def margins(valid: Any) -> dict[str, Any]:
    """The rating margin (chosen − rejected) where both ratings are given."""
    if "chosen_rating" not in valid.columns or "rejected_rating" not in valid.columns:
        return {"rated_pairs": 0}
    values = sorted(
        c - r
        for c, r in zip(valid["chosen_rating"].to_list(), valid["rejected_rating"].to_list())
        if c is not None and r is not None
    )
    if not values:
        return {"rated_pairs": 0}
    quantiles = {f"p{q}": round(values[min(len(values) - 1, q * len(values) // 100)], 3) for q in (10, 25, 50, 75, 90)}
    out: dict[str, Any] = {
        "rated_pairs": len(values),
        "margin": {"min": values[0], **quantiles, "max": values[-1]},
        "ties": sum(1 for v in values if v == 0),
        "reversed": sum(1 for v in values if v < 0),
    }
    distinct = sorted(set(values))
    if len(distinct) <= 20:
        out["margin_counts"] = {f"{v:g}": values.count(v) for v in distinct}
    return out


def run(ctx: AuditContext, config: Mapping[str, Any]) -> CheckResult:
    train = ctx.train
    if train.task != "preference":
        return CheckResult(ID, "skipped", f"not preference data (task '{train.task}')")
    if train.rows_valid == 0:
        return CheckResult(ID, "skipped", "no valid preference rows")
    name = train.path.name
    a = pair_analysis(ctx)
    valid = train.valid
    chosen = valid["output"].to_list()
    rejected = valid["rejected"].to_list() if "rejected" in valid.columns else [None] * len(chosen)
    labels = valid["kto_label"].to_list() if "kto_label" in valid.columns else [None] * len(chosen)
    findings = pair_findings(name, a, config)
    kept = [
        (line, c or "", r)
        for line, c, r in zip(a.lines, chosen, rejected)
        if r is not None and line not in a.mismatched and line not in a.identical
    ]
    length, ratios, bias = length_bias(ctx, [k[0] for k in kept], [k[1] for k in kept], [k[2] for k in kept], config)
    desirable = [c if r is not None or label is True else None for c, r, label in zip(chosen, rejected, labels)]
    undesirable = [
        r if r is not None else c if label is False else None for c, r, label in zip(chosen, rejected, labels)
    ]
    refusal, refused = refusals(name, a.lines, desirable, undesirable, config)
    prompts, near = prompt_stats(name, a)
    findings += [f for f in (bias, refused, near) if f is not None]
    pairs = sum(a.paired)
    metrics: dict[str, Any] = {
        "format": train.format,
        "rows_valid": len(a.lines),
        "pairs": pairs,
        "unpaired_rows": len(a.lines) - pairs,
        "usable_pairs": a.usable,
        "mismatched_pairs": len(a.mismatched),
        "identical_pairs": len(a.identical),
        "rating_issues": len(a.ratings),
        "contradicting_rows": len(a.contradictions),
        "repeated_pairs": len(a.duplicates),
        "kto_conflicting_rows": len(a.kto_conflicts),
        "inconsistent_rows": len(a.inconsistent),
        "inconsistent_share": share(len(a.inconsistent), len(a.lines)),
        "near_prompts": a.near_prompts,
        "length": length,
        "refusals": refusal,
        **prompts,
        "ratings": margins(valid),
    }
    if pairs < len(a.lines):
        metrics["kto"], kto = kto_balance(name, [label for label, p in zip(labels, a.paired) if not p], config)
        findings += [kto] if kto is not None else []
    status = "warn" if any(f.severity in ("warning", "error") for f in findings) else "pass"
    if metrics["inconsistent_share"] > config["max_inconsistent_share"] or any(
        f.code == "PREF009" and f.severity == "error" for f in findings
    ):
        status = "fail"
    issues = a.issue()
    row_values: dict[str, dict[str, dict[int, Any]]] = {
        "train": {
            "pair_issue": {line: issues.get(line) for line in a.lines},
            "length_ratio": {line: round(r, 3) for line, r in ratios.items()},
        }
    }
    summary = (
        f"{a.usable:,} usable of {len(a.lines):,} {'pairs' if pairs else 'rows'}: {len(a.inconsistent)} "
        f"inconsistent ({metrics['inconsistent_share']:.1%}), {len(a.duplicates)} repeated; chosen longer in "
        f"{length['chosen_longer_share']:.0%}, refusals {refusal['chosen_share']:.1%} chosen / "
        f"{refusal['rejected_share']:.1%} rejected"
    )
    return CheckResult(ID, status, summary, metrics, tuple(findings), row_values, evidence=(evidence(a, findings),))

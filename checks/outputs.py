"""Outputs: contradicting and inconsistently formatted outputs of a generative set; system prompts.

What it checks
  Generative sets (chat, prompt/completion, instruction; classification sets are checked by `labels`):
  - Contradictions: rows asking the same question whose outputs disagree. Rows ask the same question
    when their inputs are equal after normalisation, or when they are in one near-duplicate group and
    their varying inputs (shared preambles set aside) differ from the group's kept row only by typos,
    dropped or swapped words: never by another word, a number or a negation, since a question about
    Sydney may rightly get another answer than one about Paris. Outputs disagree with
    different final answers where most outputs carry a final-answer pattern (GSM8K's "#### n",
    \\boxed{}, "The answer is …", "Answer: …"), different tool calls, or else different figures
    (the numbers in the outputs) or output embeddings with cosine under output_similarity.
  - Output format: when at least format_min_share of the rows agree on a property, the rows that
    do not: tool call or text reply, JSON or text, the JSON key set, the type of each tool
    argument, a final-answer line, a fixed marker prefix or suffix of the outputs (a separator,
    stop word or edge whitespace, as OpenAI's legacy data validator checked) and, for
    prompt/completion sets, the separator that ends every prompt.
  - System prompts (any chat set): more than one distinct system prompt.

    System prompts are compared for every chat set, classification included.

Why it matters
  Two answers to one question teach the model to guess; outputs in two formats teach two
  behaviours; a system prompt that varies by row is part of the input the model must see at
  inference time.

Failing example
  support_train.jsonl: lines 48 and 164 ask "How long do I have to request a refund for a late
  Next Day delivery?"; one reply says 30 days, the other 14 days.

How to fix
  Give one answer per question; make every output follow the dominant format; use one system
  prompt (or send the per-row context as part of the user turn).

Config ([outputs] in ftaudit.toml)
  max_inconsistent_share = 0.1  share of rows with contradictions or format breaks above which the check fails
  output_similarity = 0.8       duplicate inputs whose outputs' cosine is lower contradict
  format_min_share = 0.9        share of rows that makes a format (or final-answer pattern) dominant
  max_findings = 200            findings listed per code (the rest are summarised in one)

Codes
  LBL006 contradicting outputs for the same or a near-identical input · LBL007 rows breaking the
  dominant output format · LBL008 several distinct system prompts · LBL011 too many inconsistent outputs
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from auditor.evidence import ConsistencyEvidence, Inconsistency, StepHint
from auditor.results import CheckResult, Finding
from auditor.text import diff_snippet, groups_of, snippet, snippet_where_differs
from checks.labels import capped, listed

if TYPE_CHECKING:
    from auditor.context import AuditContext

ID = "outputs"
FAMILY = "LBL"
CODES = {
    "LBL006": "contradicting outputs for the same or a near-identical input",
    "LBL007": "rows breaking the dominant output format",
    "LBL008": "several distinct system prompts",
    "LBL011": "too many inconsistent outputs",
}
DEFAULTS: dict[str, Any] = {
    "max_inconsistent_share": 0.1,
    "output_similarity": 0.8,
    "format_min_share": 0.9,
    "max_findings": 200,
}


def same_question_groups(ctx: AuditContext) -> list[list[int]]:
    """Rows that ask the same question: each near-duplicate group cut down to its centre, the centre's exact
    copies and the members whose varying input (shared preambles set aside) is near-identical to the centre's:
    typos, dropped or swapped words, never another word, number or negation (`auditor.dedup.near_identical`)."""
    from auditor.dedup import near_identical

    reps = ctx.representatives("train").of_row
    varying = ctx.varying("train").texts
    inputs = ctx.train.valid["input"].to_list()
    params = ctx.near_params()
    groups = []
    for centre, rows in groups_of(ctx.near_groups("train")[1]).items():
        asks = {
            rep: rep == reps[centre]
            or near_identical(varying[centre], varying[rep], params, (inputs[centre], inputs[rep]))
            for rep in {reps[r] for r in rows}
        }
        kept = [r for r in rows if asks[reps[r]]]
        if len(kept) > 1:
            groups.append(kept)
    return groups


def output_quote(first: str, other: str) -> str:
    """An output quoted around where it departs from the group's first output."""
    return snippet(other) if first == other else snippet_where_differs(other, first)


def contradictions(
    ctx: AuditContext, config: Mapping[str, Any], pattern: str | None
) -> tuple[list[Finding], int, set[int]]:
    import numpy as np

    from auditor.outputs import final_answer, numbers

    valid = ctx.train.valid
    lines, texts, outputs = valid["line"].to_list(), valid["input"].to_list(), valid["output"].to_list()
    tool_calls, keys = valid["tool_calls"].to_list(), ctx.output_keys("train")
    reps = ctx.representatives("train").of_row
    pending: list[tuple[list[int], str]] = []
    undecided: list[list[int]] = []
    for rows in same_question_groups(ctx):
        if len({keys[r] for r in rows}) == 1:
            continue
        if all(tool_calls[r] for r in rows):
            pending.append((rows, "different tool calls"))
        elif pattern:
            if len({a for a in (final_answer(outputs[r], pattern) for r in rows) if a is not None}) > 1:
                pending.append((rows, "different final answers"))
        elif len({numbers(outputs[r]) for r in rows}) > 1:
            pending.append((rows, "different figures"))
        else:
            undecided.append(rows)
    if undecided:
        vectors = ctx.get_embedder().encode([outputs[r] for rows in undecided for r in rows])
        start = 0
        for rows in undecided:
            block = vectors[start : start + len(rows)]
            start += len(rows)
            if float(np.min(block @ block.T)) < config["output_similarity"]:
                pending.append((rows, "diverging outputs"))
    findings, rows_in = [], set()
    name = ctx.train.path.name
    varying = ctx.varying("train").texts
    for rows, why in sorted(pending, key=lambda item: item[0][0]):
        rows_in.update(rows)
        same = "the same input" if len({reps[r] for r in rows}) == 1 else "nearly the same input"
        answers = {
            lines[r]: (
                final_answer(outputs[r], pattern)
                if pattern and why == "different final answers"
                else output_quote(outputs[rows[0]], outputs[r])
            )
            for r in rows
        }
        shown = "; ".join(f"line {line}: {answer!r}" for line, answer in list(answers.items())[:4])
        other = next((r for r in rows if reps[r] != reps[rows[0]]), None)
        quote = snippet(texts[rows[0]]) if other is None else diff_snippet(varying[rows[0]], varying[other])
        message = f'{name}: {len(rows)} rows with {same} ("{quote}") have {why}: {shown}'
        findings.append(Finding("LBL006", "warning", message, tuple(answers), {"reason": why, "outputs": answers}))
    return capped(findings, "LBL006", "contradiction groups", config["max_findings"]), len(pending), rows_in


def format_findings(ctx: AuditContext, config: Mapping[str, Any]) -> tuple[list[Finding], dict[str, Any], set[int]]:
    from auditor.outputs import format_rules

    dataset = ctx.train
    valid = dataset.valid
    lines = valid["line"].to_list()
    rules = format_rules(
        valid["output"].to_list(),
        valid["tool_calls"].to_list(),
        valid["input"].to_list(),
        dataset.format == "prompt_completion",
        config["format_min_share"],
    )
    findings: list[Finding] = []
    broken: set[int] = set()
    for rule in rules:
        broken.update(rule.breaks)
        break_lines = [lines[r] for r in rule.breaks]
        others = ", ".join(f"{value!r} ({n})" for value, n in list(rule.variants.items())[1:4])
        message = (
            f"{dataset.path.name}: {len(break_lines)} row(s) break the {rule.name} most rows share "
            f"({rule.dominant!r}, {rule.share:.0%}): lines {listed(break_lines)}; instead {others}"
        )
        findings.append(
            Finding(
                "LBL007",
                "warning",
                message,
                tuple(break_lines),
                {"rule": rule.name, "dominant": rule.dominant, "share": rule.share, "variants": rule.variants},
            )
        )
    summary = {
        rule.name: {"dominant": rule.dominant, "share": rule.share, "breaks": len(rule.breaks)} for rule in rules
    }
    return findings, summary, broken


def system_prompt_finding(ctx: AuditContext) -> tuple[list[Finding], int]:
    from auditor.text import normalize

    valid = ctx.train.valid
    present = [
        (line, normalize(s), s)
        for line, s in zip(valid["line"].to_list(), valid["system"].to_list())
        if s and s.strip()
    ]
    counts = Counter(key for _, key, _ in present)
    if len(counts) < 2:
        return [], len(counts)
    common = counts.most_common(1)[0][0]
    example = {key: text for _, key, text in reversed(present)}
    shown = "; ".join(f'"{snippet(example[key])}" ({n})' for key, n in counts.most_common(4))
    per_row = len(counts) > len(present) / 2
    rows = () if per_row else tuple(line for line, key, _ in present if key != common)
    message = (
        f"{ctx.train.path.name}: {len(counts)} distinct system prompts"
        f"{' (nearly one per row: per-row context?)' if per_row else ''}: {shown}"
    )
    data = {"distinct": len(counts), "counts": {snippet(example[k]): n for k, n in counts.most_common(20)}}
    return [Finding("LBL008", "info" if per_row else "warning", message, rows, data)], len(counts)


def generative(ctx: AuditContext, config: Mapping[str, Any]) -> tuple[list[Finding], dict[str, Any], set[int]]:
    from auditor.outputs import answer_pattern

    valid = ctx.train.valid
    text_outputs = [o for o, t in zip(valid["output"].to_list(), valid["tool_calls"].to_list()) if not t]
    pattern = answer_pattern(text_outputs, config["format_min_share"])
    found, groups, contradicting = contradictions(ctx, config, pattern)
    formats, rules, broken = format_findings(ctx, config)
    metrics = {
        "contradictions": groups,
        "contradicting_rows": len(contradicting),
        "format_breaks": len(broken),
        "format_rules": rules,
        "final_answer_pattern": pattern,
    }
    return found + formats, metrics, contradicting | broken


def step_hints(findings: list[Finding]) -> tuple[StepHint, ...]:
    return tuple(
        StepHint(f.code, f.message, f.rows, len(f.rows))
        for f in findings
        if f.code in ("LBL006", "LBL007") and f.severity == "warning" and f.rows
    )


def run(ctx: AuditContext, config: Mapping[str, Any]) -> CheckResult:
    train = ctx.train
    if train.rows_valid == 0:
        return CheckResult(ID, "skipped", "no valid training rows to check outputs")
    prompts, distinct = system_prompt_finding(ctx)
    if train.task != "generation":
        status = "warn" if any(f.severity == "warning" for f in prompts) else "pass"
        summary = f"{distinct} system prompt(s); outputs of a {train.task} set are checked elsewhere"
        return CheckResult(ID, status, summary, {"task": train.task, "system_prompts": distinct}, tuple(prompts))
    findings, metrics, inconsistent = generative(ctx, config)
    findings += prompts
    share = len(inconsistent) / train.rows_valid
    metrics = {
        "task": train.task,
        "rows_valid": train.rows_valid,
        **metrics,
        "system_prompts": distinct,
        "inconsistent_rows": len(inconsistent),
        "inconsistent_share": round(share, 4),
    }
    status = "warn" if any(f.severity in ("warning", "error") for f in findings) else "pass"
    if share > config["max_inconsistent_share"]:
        status = "fail"
        findings.append(
            Finding(
                "LBL011",
                "error",
                f"{train.path.name}: {share:.1%} of rows have contradicting or "
                f"inconsistently formatted outputs (more than {config['max_inconsistent_share']:.0%})",
                (),
                {"inconsistent_share": round(share, 4)},
            )
        )
    summary = (
        f"{metrics['contradictions']} contradiction group(s) ({metrics['contradicting_rows']} rows), "
        f"{metrics['format_breaks']} row(s) breaking the dominant output format, {distinct} system prompt(s)"
    )
    parts = (
        Inconsistency("rows with contradicting outputs", metrics["contradicting_rows"]),
        Inconsistency("outputs breaking the common format", metrics["format_breaks"]),
    )
    evidence = ConsistencyEvidence(
        "outputs", train.rows_valid, len(inconsistent), tuple(p for p in parts if p.rows), steps=step_hints(findings)
    )
    return CheckResult(ID, status, summary, metrics, tuple(findings), evidence=(evidence,))

"""Duplicates: exact and near-duplicate training rows, the effective size, and eval/production leakage.

What it checks
  Exact duplicates: inputs equal after Unicode NFKC, case folding, whitespace collapsing and
  trimming of surrounding punctuation. Near duplicates are judged on the part of each input that
  varies: a long block of text repeated across many rows (a tool description, a policy, a persona,
  an Alpaca instruction before every question; at least shared_min_words words whose word 4-grams
  occur in max(shared_min_rows, shared_min_share × rows) distinct inputs) is set aside per row, as
  a chat's system prompt already is, and the embeddings are computed on what remains. Candidate
  pairs come from three signals — the embedding neighbour graph (each row's 10 nearest, cosine ≥
  neighbours.min_pair_similarity), word-deletion keys (two texts one word edit apart always share a
  hash of the text with one word removed: this catches typos in short texts, where embeddings are
  weak), and character 3-gram MinHash for texts longer than the embedding's window. Candidates are
  confirmed lexically: a short prompt template (a prefix or suffix common to `template_share` of
  the rows) is also set aside, and the varying parts must differ by at most max(min_edits,
  max_edit_ratio × words) word edits, where a typo'd word, a dropped or added word, or two swapped
  words count 1 and a different word counts 2; pairs with cosine ≥ embedding_threshold may differ by
  twice as many (a typo inside a shared block is found on the whole inputs). Groups cannot chain:
  the row with the most confirmed partners becomes a group's kept row, and every member is a
  confirmed pair with it. With --eval, every eval row with an exact or near duplicate in training
  is a leak; with --production, inputs seen verbatim in training are listed.

Why it matters
  Duplicates inflate the apparent size of a set (the size check counts one row per group) and
  over-weight a few examples; a duplicate that crosses into the eval split makes a fine-tuned
  model look better than it is, because it is graded on what it memorised.

Failing example
  lines 19, 58: "Where is my parcel PX-482913?" / "where is my parcel  px-482913" (exact)
  lines 102, 187: "Can I log in with my Google account?" / "Can I log in with my google acount" (near)

How to fix
  Keep one row per group (the finding names the kept line) or rewrite the copies into genuinely
  different examples; remove leaked rows from the eval split (or from training).

Calibration (bench/duplicates_bench.py, all-MiniLM-L6-v2)
  Injected variants of 150 rows per kind into Banking77 train (10k) and GSM8K questions (7.5k),
  3 seeds: exact variants (case, spacing, Unicode forms) recall 1.000; near variants (typo,
  dropped word, changed punctuation, swapped words) recall ≥ 0.983 (GSM8K 1.000; the Banking77 misses
  are variants of a row already grouped with another one, which would chain) at row precision
  ≥ 0.997. The same rows behind a 161-word tool description (before the text, after it, or as the
  Alpaca instruction) give exactly the same groups, recall and precision. 10,000 chat rows of 318+
  words (a 309-word preamble before each GSM8K question, bench/long_rows_bench.py): the check's own
  work takes about 21 s on 2 busy cores once the embeddings exist.
  Cosine alone cannot do this: crowd-sourced paraphrases in Banking77 reach cosine 0.95–0.99
  while a one-letter typo in a short query can fall to 0.3, so cosine proposes and words decide.
  On the untouched Banking77 train, the default rule groups ~790 rows (~8%) in ~470 pairs that
  differ by one word or a typo; on GSM8K it groups 2 questions that differ only by a name.

Config ([duplicates] in ftaudit.toml)
  max_edit_ratio = 0.1        word edits allowed per word of the longer text
  min_edits = 1               word edits always allowed
  embedding_threshold = 0.98  cosine above which twice the edits are allowed
  lexical_support = 0.5       minimum character 3-gram Jaccard for any near pair
  minhash_threshold = 0.5     MinHash LSH threshold for lexical candidates among long texts
  minhash_min_chars = 1000    texts this long (past the embedding's 256-token window) also get MinHash candidates
  max_bucket = 64             word-deletion buckets larger than this are too generic to propose pairs
  template_share = 0.5        share of rows that must share a prefix/suffix for it to count as a template
  shared_min_rows = 8         a block must occur in at least this many distinct inputs to be set aside …
  shared_min_share = 0.01     … and in at least this share of them
  shared_min_words = 20       shorter repeated runs of words stay part of the input
  shared_edge_drop = 0.8      a block's ends are trimmed while their 4-grams occur in fewer rows than this
                              share of the block's median (a question's first words are not the preamble's)
  max_duplicate_rate = 0.2    above this share of rows in duplicate groups the check fails
  max_eval_leak_share = 0.01  above this share of eval rows leaked the check fails (any leak warns)
  max_group_findings = 200    findings listed per kind (the rest are summarised)

Codes
  DUP001 exact-duplicate group · DUP002 near-duplicate group · DUP003 duplicate rate too high
  DUP004 eval row duplicated in training · DUP005 production inputs seen verbatim in training
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from auditor.evidence import DuplicatesEvidence
from auditor.results import CheckResult, Finding
from auditor.text import diff_snippet, groups_of, snippet

if TYPE_CHECKING:
    from auditor.context import AuditContext

ID = "duplicates"
FAMILY = "DUP"
CODES = {
    "DUP001": "exact-duplicate group",
    "DUP002": "near-duplicate group",
    "DUP003": "duplicate rate too high",
    "DUP004": "eval row duplicated in training (leakage)",
    "DUP005": "production inputs seen verbatim in training",
}
DEFAULTS: dict[str, Any] = {
    "max_edit_ratio": 0.1,
    "min_edits": 1,
    "embedding_threshold": 0.98,
    "lexical_support": 0.5,
    "minhash_threshold": 0.5,
    "minhash_min_chars": 1000,
    "max_bucket": 64,
    "template_share": 0.5,
    "shared_min_rows": 8,
    "shared_min_share": 0.01,
    "shared_min_words": 20,
    "shared_edge_drop": 0.8,
    "max_duplicate_rate": 0.2,
    "max_eval_leak_share": 0.01,
    "max_group_findings": 200,
}


def group_findings(
    ctx: AuditContext, config: Mapping[str, Any]
) -> tuple[list[Finding], dict[str, Any], dict[str, dict[int, int]]]:
    train = ctx.train.valid
    lines = train["line"].to_list()
    texts = train["input"].to_list()
    outputs = ctx.output_keys("train")
    exact_of_row = ctx.representatives("train").of_row
    result, near_of_row = ctx.near_groups("train")
    pairs = ctx.train.task == "preference"
    if pairs:  # a pair repeats when its prompt and both sides do; a prompt asked again with other replies is fine
        from auditor.pairs import pair_analysis

        exact_of_row, near_of_row = pair_analysis(ctx).repeat_groups()
    exact = groups_of(exact_of_row)
    near = groups_of(near_of_row)
    findings: list[Finding] = []
    limit = config["max_group_findings"]
    name = ctx.train.path.name
    keys = ctx.input_keys("train")
    varying = ctx.varying("train")
    for code, groups, kind in (("DUP001", exact, "exact"), ("DUP002", near, "near")):
        listed = 0
        for kept, rows in sorted(groups.items(), key=lambda item: (-len(item[1]), item[1][0])):
            if kind == "near" and len({exact_of_row[r] for r in rows}) == 1:
                continue  # a purely exact group is reported once, as DUP001
            agree = len({outputs[r] for r in rows}) == 1
            listed += 1
            if listed > limit:
                continue
            member_lines = [lines[r] for r in rows]
            other = next((r for r in rows if keys[r] != keys[kept]), None)
            quote = snippet(texts[kept]) if other is None else diff_snippet(varying.texts[kept], varying.texts[other])
            compared = "" if other is None else f" (line {lines[kept]} → {lines[other]})"
            message = (
                f"{name}: {len(rows)} rows with {'the same' if kind == 'exact' else 'nearly the same'} "
                f"{'prompt and replies' if pairs else 'input'} "
                f'("{quote}"{compared}); line {lines[kept]} kept; outputs {"agree" if agree else "differ"}'
            )
            findings.append(
                Finding(
                    code,
                    "info" if agree else "warning",
                    message,
                    tuple(member_lines),
                    {"kept_line": lines[kept], "outputs_agree": agree, "size": len(rows)},
                )
            )
        if listed > limit:
            findings.append(
                Finding(
                    code,
                    "info",
                    f"{name}: {listed - limit} more {kind}-duplicate groups not listed",
                    (),
                    {"groups_not_listed": listed - limit},
                )
            )
    in_exact = {r for kept, rows in exact.items() for r in rows if r != kept}
    in_near = {r for kept, rows in near.items() for r in rows if r != kept}
    effective = len(lines) - len(in_near | in_exact)
    metrics = {
        "rows_valid": len(lines),
        "exact_groups": len(exact),
        "exact_duplicate_rows": len(in_exact),
        "near_groups": sum(1 for rows in near.values() if len({exact_of_row[r] for r in rows}) > 1),
        "near_duplicate_rows": len(in_near - in_exact),
        "effective_rows": effective,
        "duplicate_rate": round(1 - effective / len(lines), 4) if lines else 0.0,
        "near_pairs_confirmed": len(result.pairs),
        "near_pairs_considered": result.candidates,
        "template": {"prefix": result.template[0], "suffix": result.template[1]},
        "rows_with_shared_text": varying.rows_with_shared_text,
        "shared_words_per_row": round(sum(varying.shared_words) / len(lines), 1) if lines else 0.0,
    }
    annotations = {
        "exact_group": {lines[r]: lines[kept] for kept, rows in exact.items() for r in rows},
        "near_group": {lines[r]: lines[kept] for kept, rows in near.items() for r in rows},
    }
    return findings, metrics, annotations


def leakage(
    ctx: AuditContext, split: str, config: Mapping[str, Any]
) -> tuple[list[tuple[int, list[int], str, float]], int]:
    """(line, training lines, kind, similarity) for every row of `split` duplicated in training."""
    from auditor.dedup import cross_matches

    dataset = ctx.dataset(split)
    assert dataset is not None
    rows = dataset.valid
    train_lines = ctx.train.valid["line"].to_list()
    by_key: dict[str, list[int]] = {}
    for line, key in zip(train_lines, ctx.input_keys("train")):
        by_key.setdefault(key, []).append(line)
    leaks: dict[int, tuple[list[int], str, float]] = {}
    for line, key in zip(rows["line"].to_list(), ctx.input_keys(split)):
        if key in by_key:
            leaks[line] = (by_key[key], "exact", 1.0)
    if split == "eval":
        matches = cross_matches(
            ctx.varying(split).texts,
            ctx.varying("train").texts,
            ctx.embeddings(split),
            ctx.embeddings("train"),
            ctx.near_params(),
            ctx.pair_similarity(),
            query_full=rows["input"].to_list(),
            base_full=ctx.train.valid["input"].to_list(),
        )
        eval_lines = rows["line"].to_list()
        for i, j, cosine, _, _ in matches:
            line = eval_lines[i]
            if line in leaks and leaks[line][1] == "exact":
                continue
            found, _, best = leaks.get(line, ([], "near", 0.0))
            leaks[line] = (sorted(set(found) | {train_lines[j]}), "near", max(best, cosine))
    return [(line, found, kind, sim) for line, (found, kind, sim) in sorted(leaks.items())], rows.height


def run(ctx: AuditContext, config: Mapping[str, Any]) -> CheckResult:
    if ctx.train.rows_valid == 0:
        return CheckResult(ID, "skipped", "no valid training rows to compare")
    findings, metrics, annotations = group_findings(ctx, config)
    row_values: dict[str, dict[str, dict[int, Any]]] = {"train": annotations}
    status = "warn" if findings else "pass"
    name = ctx.train.path.name
    if metrics["duplicate_rate"] > config["max_duplicate_rate"]:
        status = "fail"
        findings.append(
            Finding(
                "DUP003",
                "error",
                f"{name}: {metrics['duplicate_rate']:.0%} of rows are duplicates "
                f"(more than {config['max_duplicate_rate']:.0%})",
                (),
                {"duplicate_rate": metrics["duplicate_rate"]},
            )
        )
    summary = (
        f"{metrics['exact_duplicate_rows']} exact and {metrics['near_duplicate_rows']} near-duplicate rows: "
        f"{metrics['effective_rows']} of {metrics['rows_valid']} rows distinct "
        f"({metrics['duplicate_rate']:.1%} duplicates)"
    )
    if ctx.dataset("eval") is not None:
        leaks, eval_rows = leakage(ctx, "eval", config)
        share = len(leaks) / eval_rows if eval_rows else 0.0
        metrics.update(
            eval_rows=eval_rows,
            eval_leaked_rows=len(leaks),
            eval_leak_share=round(share, 4),
            eval_exact_leaks=sum(1 for leak in leaks if leak[2] == "exact"),
        )
        eval_name = ctx.datasets["eval"].path.name
        for line, train_lines, kind, similarity in leaks[: config["max_group_findings"]]:
            message = (
                f"{eval_name}:{line} has {'an exact' if kind == 'exact' else 'a near'} duplicate in training "
                f"(line {', '.join(map(str, train_lines[:5]))})"
            )
            findings.append(
                Finding(
                    "DUP004",
                    "error",
                    message,
                    (line,),
                    {"train_lines": train_lines, "kind": kind, "similarity": round(similarity, 4)},
                    "eval",
                )
            )
        row_values["eval"] = {"duplicate_of_train_line": {line: found[0] for line, found, _, _ in leaks}}
        if leaks:
            status = "fail" if share > config["max_eval_leak_share"] else ("warn" if status == "pass" else status)
        summary += f"; {len(leaks)} of {eval_rows} eval rows ({share:.1%}) leak from training"
    if ctx.dataset("production") is not None:
        seen, production_rows = leakage(ctx, "production", config)
        metrics.update(production_rows=production_rows, production_seen_in_train=len(seen))
        if seen:
            prod_name = ctx.datasets["production"].path.name
            message = f"{prod_name}: {len(seen)} production input(s) appear verbatim in training (after normalisation)"
            findings.append(
                Finding(
                    "DUP005",
                    "info",
                    message,
                    tuple(line for line, *_ in seen),
                    {"train_lines": {str(line): found[:5] for line, found, _, _ in seen[:200]}},
                    "production",
                )
            )
            row_values["production"] = {"duplicate_of_train_line": {line: found[0] for line, found, _, _ in seen}}
    leaked = tuple(sorted({r for f in findings if f.code == "DUP004" for r in f.rows}))
    evidence = DuplicatesEvidence(
        metrics["rows_valid"] - metrics["effective_rows"],
        metrics["duplicate_rate"],
        config["max_duplicate_rate"],
        metrics.get("eval_rows", 0),
        leaked,
        metrics.get("production_seen_in_train", 0),
    )
    return CheckResult(ID, status, summary, metrics, tuple(findings), row_values, evidence=(evidence,))

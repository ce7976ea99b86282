"""Provider: the chosen fine-tuning provider's published dataset rules, each broken row named by file:line.

What it checks
  With `--provider NAME` (or `[provider] name`), every row is checked against that provider's
  documented constraints before you upload: the record formats it accepts, roles and their order,
  the last turn, extraneous keys, the minimum number of examples, the per-example token limit,
  weights, preference examples, and a homogeneous set. `generic` (the default) applies none.

Why it matters
  A provider's upload validation fails the whole file and often names no row ("invalid schema (20)");
  this is the dry run that names each line and the rule it breaks.

Failing example
  --provider bedrock: train.jsonl:7: two user turns in a row — user and assistant turns alternate,
  starting with user [bedrock.alternation]

How to fix
  Convert the set to a format the provider accepts, merge or reorder turns, drop extra keys, split
  or trim over-long examples, and give every row weights or none.

Config ([provider] in ftaudit.toml)
  name = "generic"          generic, openai, azure, together, fireworks, bedrock or vertex
  max_example_tokens = 0    per-example token limit; 0 = the provider's default below
                            (openai/azure 65,536, bedrock 32,000, vertex 131,072; it depends on the model)
  encoding = "cl100k_base"  tokenizer used to estimate tokens (read offline)

Rules and their sources
{rules}

Codes
  PRV001 format not accepted · PRV002 roles or their order · PRV003 extraneous keys
  PRV004 too few examples · PRV005 example over the token limit · PRV006 weighted and unweighted rows mixed
  PRV007 weight on a non-assistant message · PRV008 preference example not single-turn text
  PRV009 set not homogeneous
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from auditor.errors import ConfigError
from auditor.providers import (
    ACCEPTED,
    MAX_EXAMPLE_TOKENS,
    MIN_EXAMPLES,
    PROVIDERS,
    Rule,
    rules_doc,
    rules_for,
    source_for,
)
from auditor.results import CheckResult, Finding

if TYPE_CHECKING:
    from auditor.context import AuditContext
    from auditor.load import Dataset

__doc__ = (__doc__ or "").replace("{rules}", rules_doc())
ID = "provider"
FAMILY = "PRV"
CODES = {
    "PRV001": "the provider does not accept this record format",
    "PRV002": "roles or their order break the provider's rules",
    "PRV003": "keys the provider rejects",
    "PRV004": "fewer examples than the provider's minimum",
    "PRV005": "example over the provider's per-example token limit",
    "PRV006": "weighted and unweighted rows mixed",
    "PRV007": "weight on a non-assistant message",
    "PRV008": "preference example is not a single-turn text pair",
    "PRV009": "records of different shapes in one set",
}
DEFAULTS: dict[str, Any] = {"name": "generic", "max_example_tokens": 0, "encoding": "cl100k_base"}
SHOWN = 5


def where(dataset: Dataset, lines: list[int]) -> str:
    frame = dataset.frame
    files = dict(zip(frame["line"].to_list(), zip(frame["file"].to_list(), frame["file_line"].to_list())))
    shown = [f"{files[n][0]}:{files[n][1]}" for n in lines[:SHOWN]]
    return ", ".join(shown) + (f" (+{len(lines) - SHOWN} more)" if len(lines) > SHOWN else "")


def finding(
    dataset: Dataset,
    provider: str,
    rule: Rule,
    lines: list[int],
    detail: str,
    severity: str = "error",
    data: Mapping[str, Any] | None = None,
) -> Finding:
    prefix = f"{where(dataset, lines)}: " if lines else f"{dataset.path.name}: "
    message = f"{prefix}{detail} — {provider}: {rule.text} [{provider}.{rule.id}]"
    return Finding(
        rule.code,
        severity,
        message,
        tuple(lines),
        {"rule": f"{provider}.{rule.id}", "source": source_for(rule, provider), **(data or {})},
        dataset.split,
    )


def row_findings(dataset: Dataset, provider: str, rules: list[Rule]) -> list[Finding]:
    per_rule: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    by_id = {r.id: r for r in rules if r.row is not None}
    for row in dataset.valid.iter_rows(named=True):
        row["_turns"] = json.loads(row["messages"]) if row["messages"] else []
        for rule in by_id.values():
            reason = rule.row(row, dataset.format) if rule.row else None
            if reason:
                per_rule[rule.id][reason].append(row["line"])
    found = []
    for rule_id, reasons in per_rule.items():
        for reason, lines in reasons.items():
            found.append(finding(dataset, provider, by_id[rule_id], lines, reason))
    return found


def set_findings(dataset: Dataset, provider: str, rules: list[Rule], config: Mapping[str, Any]) -> list[Finding]:
    import polars as pl

    ids = {r.id: r for r in rules}
    valid = dataset.valid
    found = []
    if "format" in ids and dataset.format not in ACCEPTED[provider]:
        detail = f"{dataset.format} records (accepted: {', '.join(ACCEPTED[provider])})"
        found.append(finding(dataset, provider, ids["format"], [], detail))
    if "min-examples" in ids and valid.height < MIN_EXAMPLES[provider]:
        found.append(finding(dataset, provider, ids["min-examples"], [], f"{valid.height} valid example(s)"))
    if "example-tokens" in ids and valid.height:
        found += token_findings(dataset, provider, ids["example-tokens"], config)
    if "mixed-weights" in ids:
        weighted = valid["messages"].str.contains('"train":(?:true|false)')  # the loader writes compact JSON
        minority = valid.filter(weighted if weighted.sum() * 2 < valid.height else ~weighted)
        if 0 < minority.height < valid.height:
            side = "with" if weighted.sum() * 2 < valid.height else "without"
            detail = f"rows {side} weights among the others"
            found.append(finding(dataset, provider, ids["mixed-weights"], minority["line"].to_list(), detail))
    if "homogeneous" in ids and valid.height:
        shapes = valid.select(pl.col("record_keys"), (pl.col("images") > 0).alias("media"))
        keys = [f"{k}|{m}" for k, m in shapes.iter_rows()]
        common, _ = Counter(keys).most_common(1)[0]
        odd = [line for line, k in zip(valid["line"].to_list(), keys) if k != common]
        if odd:
            found.append(finding(dataset, provider, ids["homogeneous"], odd, "records shaped unlike the rest"))
    return found


def token_findings(dataset: Dataset, provider: str, rule: Rule, config: Mapping[str, Any]) -> list[Finding]:
    from checks.tokens import load_encoding

    limit = config["max_example_tokens"] or MAX_EXAMPLE_TOKENS[provider]
    valid = dataset.valid
    texts = ["\n".join(m["content"] for m in json.loads(t)) if t else "" for t in valid["messages"].to_list()]
    try:
        encoding = load_encoding(config["encoding"])
        counts = [len(encoding.encode_ordinary(t)) for t in texts]
    except Exception as exc:  # tiktoken raises several types when an encoding is not available offline
        return [Finding("PRV005", "info", f"token limit not checked: {exc}", (), {}, dataset.split)]
    over = [line for line, n in zip(valid["line"].to_list(), counts) if n > limit]
    if not over:
        return []
    return [finding(dataset, provider, rule, over, f"over {limit:,} tokens", data={"limit": limit})]


def run(ctx: AuditContext, config: Mapping[str, Any]) -> CheckResult:
    provider = config["name"]
    if provider not in PROVIDERS:
        raise ConfigError(f"[provider] name = '{provider}' is unknown; expected one of {', '.join(PROVIDERS)}")
    if provider == "generic":
        return CheckResult(ID, "skipped", f"no provider chosen (--provider {'|'.join(PROVIDERS[1:])})")
    rules = rules_for(provider)
    findings: list[Finding] = []
    for split in ("train", "eval"):
        dataset = ctx.datasets.get(split)
        if dataset is not None:
            findings += set_findings(dataset, provider, rules, config) + row_findings(dataset, provider, rules)
    rows = sorted({line for f in findings if f.split == "train" for line in f.rows})
    status = "fail" if any(f.severity == "error" for f in findings) else "pass"
    summary = (
        f"{provider}: {len(findings)} rule(s) broken, {len(rows)} training row(s) named"
        if findings
        else f"{provider}: every row meets the {len(rules)} published rule(s) checked"
    )
    metrics = {"provider": provider, "rules_checked": [f"{provider}.{r.id}" for r in rules], "rows_breaking": len(rows)}
    return CheckResult(ID, status, summary, metrics, tuple(findings))

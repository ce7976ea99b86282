"""Every valid row of a split planned for a target: rendered, tokenized, masked and truncated (computed once a run)."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from auditor.targets import DEFAULT_TARGET, Target, resolve_target
from auditor.targets.encoders import Encoder, literal_pattern
from auditor.targets.plan import (
    COOKBOOK_PER_MESSAGE,
    COOKBOOK_PRIMING,
    Outcome,
    RowPlan,
    cookbook_plan,
    template_messages,
    template_plan,
    trained_flags,
    truncate,
)
from auditor.targets.render import ChatTemplate, Rendered, TemplateError


@dataclass
class TokenPlan:
    target: Target
    limit: int
    mode: str
    train_on: str
    lines: list[int]
    plans: list[RowPlan | None]  # None: the template refused the row
    outcomes: list[Outcome]
    rejected: dict[int, tuple[RowPlan, Outcome]] = field(default_factory=dict)  # preference rows: the rejected side
    refused: dict[int, str] = field(default_factory=dict)  # line -> the template's error
    literal_specials: dict[int, list[str]] = field(default_factory=dict)  # line -> special tokens typed in the text
    dropped_roles: dict[str, list[int]] = field(default_factory=dict)  # role -> lines whose content the template drops
    from_messages: bool = False
    parts: dict[str, list[int]] = field(default_factory=dict)  # input / output / system / tools tokens per row

    def line_outcomes(self) -> dict[int, Outcome]:
        return {line: out for line, out in zip(self.lines, self.outcomes)}

    @property
    def untrainable_lines(self) -> tuple[int, ...]:
        """Rows with nothing left to learn after masking and truncation (dropped rows included)."""
        return tuple(
            line
            for line, plan, out in zip(self.lines, self.plans, self.outcomes)
            if plan is not None and out.trained == 0
        )


def target_of(config: Mapping[str, Any]) -> Target:
    return resolve_target(str(config.get("target") or DEFAULT_TARGET))


def limit_of(target: Target, config: Mapping[str, Any]) -> int:
    if config.get("max_seq_len"):
        return int(config["max_seq_len"])
    return int(config["context_limit"]) if target.cookbook else target.max_seq_len


def parse_messages(value: Any) -> list[dict[str, Any]] | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return None
    return [dict(m) for m in value] if isinstance(value, list) else None


def fallback_messages(system: str | None, text: str | None, output: str | None) -> list[dict[str, Any]]:
    messages = [{"role": "system", "content": system}] if system else []
    return messages + [{"role": "user", "content": text or ""}, {"role": "assistant", "content": output or ""}]


def specials_pattern(specials: frozenset[str]) -> re.Pattern[str] | None:
    return literal_pattern(specials)


def message_texts(messages: Sequence[Mapping[str, Any]]) -> list[str]:
    return [str(m[k]) for m in messages for k in ("content", "reasoning") if m.get(k)]


CHUNK = 2048  # rows rendered, then tokenized in one batch call


@dataclass
class _Pending:
    """A row rendered (each side of a preference row), waiting for its tokens."""

    index: int
    line: int
    rendered: list[tuple[Rendered, list[bool]]]


def plan_rows(dataset: Any, config: Mapping[str, Any]) -> TokenPlan:
    target = target_of(config)
    limit, mode = limit_of(target, config), str(config.get("truncation") or target.truncation)
    train_on = str(config.get("train_on") or "all")
    encoder = target.encoder(str(config.get("encoding") or "") if target.name == DEFAULT_TARGET else "")
    valid = dataset.valid
    lines = valid["line"].to_list()
    columns = set(valid.columns)
    out = TokenPlan(target, limit, mode, train_on, lines, [], [], from_messages="messages" in columns)
    if target.cookbook and "messages" not in columns:
        return _legacy_cookbook(out, valid, encoder)
    template = target.chat_template()
    pattern = specials_pattern(encoder.specials) if template is not None else None
    tools_column = valid["tools"].to_list() if "tools" in columns else [None] * len(lines)
    rows = _row_messages(valid, columns)
    rejected_rows = (
        [parse_messages(v) for v in valid["rejected_messages"].to_list()]
        if "rejected_messages" in columns
        else [None] * len(lines)
    )
    out.plans = [None] * len(lines)
    out.outcomes = [Outcome(0, 0)] * len(lines)
    tools_cache: dict[str, Any] = {}
    pending: list[_Pending] = []
    for index, (line, messages, rejected, tools_text) in enumerate(zip(lines, rows, rejected_rows, tools_column)):
        tools = _tools(tools_text, tools_cache)
        sides = [messages] + ([rejected] if rejected else [])
        if pattern is not None:
            typed = sorted(
                {m.group() for side in sides for text in message_texts(side) for m in pattern.finditer(text)}
            )
            if typed:
                out.literal_specials[line] = typed
        if template is None:
            plans = [_cookbook_one(out, encoder, side, tools_text) for side in sides]
            out.plans[index], out.outcomes[index] = _combine(out, plans, line)
            continue
        try:
            pending.append(
                _Pending(index, line, [_render_one(out, encoder, template, side, tools, line) for side in sides])
            )
        except TemplateError as exc:
            out.refused[line] = str(exc)[:200]
        if len(pending) >= CHUNK:
            _tokenize(out, encoder, pending)
            pending = []
    _tokenize(out, encoder, pending)
    row_parts(out, encoder, valid)
    return out


def _render_one(
    out: TokenPlan, encoder: Encoder, template: ChatTemplate, messages: list[dict[str, Any]], tools: Any, line: int
) -> tuple[Rendered, list[bool]]:
    """Render through the chat template (noting roles whose content the template drops)."""
    flags = trained_flags(messages, out.train_on)
    rendered = template.render_spans(template_messages(messages, encoder.nfc), tools)
    for m in messages:
        content = m.get("content")
        if isinstance(content, str) and content.strip():
            probe = unicodedata.normalize("NFC", content.strip()) if encoder.nfc else content.strip()
            if probe not in rendered.text:
                out.dropped_roles.setdefault(str(m.get("role")), []).append(line)
    return rendered, flags


def _tokenize(out: TokenPlan, encoder: Encoder, pending: list[_Pending]) -> None:
    """Tokenize the rendered rows in one batch and plan each; a preference row keeps each side's plan."""
    starts = iter(encoder.starts_batch([rendered.text for row in pending for rendered, _ in row.rendered]))
    for row in pending:
        plans = [template_plan(encoder, rendered, next(starts), flags) for rendered, flags in row.rendered]
        out.plans[row.index], out.outcomes[row.index] = _combine(out, plans, row.line)


def _combine(out: TokenPlan, plans: list[RowPlan], line: int = 0) -> tuple[RowPlan, Outcome]:
    """The row's plan and outcome; with a rejected side, the longer length, and the chosen side's trained count less
    what truncation cut from either side (nothing left when either side has nothing left)."""
    plan, outcome = plans[0], truncate(plans[0], out.limit, out.mode)
    if len(plans) > 1:
        side, side_out = plans[1], truncate(plans[1], out.limit, out.mode)
        out.rejected[line] = (side, side_out)
        cut = plan.trained - outcome.trained + side.trained - side_out.trained
        left = max(plan.trained - cut, 1) if outcome.trained and side_out.trained else 0
        outcome = Outcome(max(outcome.kept, side_out.kept), left, outcome.dropped or side_out.dropped)
        plan = RowPlan(max(plan.total, side.total), plan.prompt, plan.spans)
    return plan, outcome


def _cookbook_one(out: TokenPlan, encoder: Encoder, messages: list[dict[str, Any]], tools_text: Any) -> RowPlan:
    flags = trained_flags(messages, out.train_on)
    tools_tokens = encoder.count(tools_text) if tools_text and any(m.get("tool_calls") for m in messages) else 0
    return cookbook_plan(encoder, messages, tools_tokens, flags)


def _row_messages(valid: Any, columns: set[str]) -> list[list[dict[str, Any]]]:
    if "messages" in columns:
        parsed = [parse_messages(v) for v in valid["messages"].to_list()]
        if all(p is not None for p in parsed):
            return [p for p in parsed if p is not None]
    systems = valid["system"].to_list()
    return [fallback_messages(s, i, o) for s, i, o in zip(systems, valid["input"].to_list(), valid["output"].to_list())]


def _tools(text: Any, cache: dict[str, Any]) -> Any:
    if not text:
        return None
    if text not in cache:
        try:
            cache[text] = json.loads(text) if isinstance(text, str) else text
        except json.JSONDecodeError:
            cache[text] = None
    return cache[text]


def _legacy_cookbook(out: TokenPlan, valid: Any, encoder: Any) -> TokenPlan:
    """Before the loader keeps messages: the conversation rebuilt from the loaded columns (the cookbook's count on
    single-turn rows; earlier turns of multi-turn rows are joined by newlines)."""
    out.parts = conversation_counts(valid, encoder)
    for total, output in zip(out.parts["conversation"], out.parts["output"]):
        plan = RowPlan(total, total - output, ((total - output, total, True),))
        out.plans.append(plan)
        out.outcomes.append(truncate(plan, out.limit, out.mode))
    return out


def count_texts(encoder: Any, texts: Sequence[str | None]) -> list[int]:
    """Tokens of each text (0 for none), encoding every distinct text once."""
    distinct = list(dict.fromkeys(t for t in texts if t))
    counts = {text: len(encoder.ordinary(text)) for text in distinct}
    return [counts.get(t, 0) if t else 0 for t in texts]


def conversation_counts(valid: Any, encoder: Any) -> dict[str, list[int]]:
    counts = {name: count_texts(encoder, valid[name].to_list()) for name in ("input", "output", "system")}
    role_tokens: dict[str, int] = {}
    overheads = []
    for roles, system in zip(valid["roles"].to_list(), valid["system"].to_list()):
        names = roles.split(",") if roles else (["system"] if system else []) + ["user", "assistant"]
        for name in names:
            role_tokens.setdefault(name, len(encoder.ordinary(name)))
        overheads.append(COOKBOOK_PRIMING + sum(COOKBOOK_PER_MESSAGE + role_tokens[n] for n in names))
    tools = [0] * len(overheads)
    if any(valid["tool_calls"].to_list()):
        tools = count_texts(encoder, valid["tools"].to_list())
    counts["tools"] = tools
    counts["conversation"] = [
        sum(p) for p in zip(overheads, counts["input"], counts["output"], counts["system"], tools)
    ]
    return counts


def row_parts(out: TokenPlan, encoder: Any, valid: Any) -> None:
    """input (prompt) / output (last trained-or-not assistant turn) / system tokens per row, for the metrics."""
    systems = count_texts(encoder, valid["system"].to_list())
    prompt = [p.prompt if p else 0 for p in out.plans]
    output = [(p.spans[-1][1] - p.spans[-1][0]) if p and p.spans else 0 for p in out.plans]
    tools = [0] * len(prompt)
    if "tools" in valid.columns and any(valid["tool_calls"].to_list()):
        tools = count_texts(
            encoder, [t if calls else None for t, calls in zip(valid["tools"].to_list(), valid["tool_calls"].to_list())]
        )
    out.parts = {
        "input": prompt,
        "output": output,
        "system": systems,
        "tools": tools,
        "conversation": [p.total if p else 0 for p in out.plans],
    }


def split_plan(ctx: Any, split: str = "train") -> TokenPlan:
    """The split's plan for the configured target, computed once per run and shared by the tokens and size checks
    (a target that cannot be loaded fails once: the error is kept and raised to each reader)."""

    def compute() -> TokenPlan | Exception:
        try:
            return plan_rows(ctx.dataset(split), ctx.config.section("tokens"))
        except Exception as exc:  # the tokens check reports it; size removes nothing
            return exc

    plan = ctx.memo("token_plan", split, compute)
    if isinstance(plan, Exception):
        raise plan
    return plan


def untrainable_rows(ctx: Any, exclude: set[int]) -> list[int]:
    """Training lines with nothing left to learn for the configured target, other than `exclude` (for the size
    check). An unusable target (unknown name, missing files) removes nothing: the tokens check reports it."""
    try:
        plan = split_plan(ctx, "train")
    except Exception:  # reported by the tokens check as an error result
        return []
    return [line for line in plan.untrainable_lines if line not in exclude]

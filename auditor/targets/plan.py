"""What a trainer keeps of each row: token counts, trained spans, and the four truncation modes.

Modes (what `--truncation` models):
  keep_start    keep the first max_seq_len tokens (TRL SFTTrainer's `truncation_mode="keep_start"`, its default,
                and a Hugging Face tokenizer's right-side truncation)
  keep_end      keep the last max_seq_len tokens (TRL's `truncation_mode="keep_end"`)
  drop          drop every row longer than max_seq_len (Axolotl's default `excess_length_strategy: drop`)
  prompt_first  LLaMA-Factory's `cutoff_len`: each (prompt, reply) pair gets a share of the budget from
                `infer_seqlen` — a reply shorter than half the budget is kept whole and the prompt is cut first
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from auditor.targets.encoders import Encoder
from auditor.targets.render import Rendered

COOKBOOK_PER_MESSAGE = 3
COOKBOOK_PRIMING = 3


@dataclass(frozen=True)
class RowPlan:
    total: int
    prompt: int  # tokens before the last assistant turn
    spans: tuple[tuple[int, int, bool], ...]  # assistant turns as token ranges [start, end) and whether trained

    @property
    def trained(self) -> int:
        return sum(end - start for start, end, trained in self.spans if trained)


@dataclass(frozen=True)
class Outcome:
    kept: int  # tokens the trainer keeps (0 when dropped)
    trained: int  # trained tokens left after truncation and masking
    dropped: bool = False


def trained_flags(messages: Sequence[Mapping[str, Any]], train_on: str) -> list[bool]:
    """Per message: is it a trained assistant turn (`train`/weight not false; with train_on='last', the last only)."""
    assistants = [i for i, m in enumerate(messages) if m.get("role") == "assistant"]
    keep = set(assistants[-1:] if train_on == "last" else assistants)
    return [i in keep and messages[i].get("train") is not False for i in range(len(messages))]


def template_messages(messages: Sequence[Mapping[str, Any]], nfc: bool) -> list[dict[str, Any]]:
    """Messages shaped as chat templates expect: `reasoning_content`, tool-call arguments as objects, and no
    `tool_calls` key on messages without calls (Llama 3.1's template tests for the key)."""
    out = []
    for m in messages:
        content = m.get("content")
        if nfc and isinstance(content, str):
            content = unicodedata.normalize("NFC", content)
        item: dict[str, Any] = {"role": m.get("role"), "content": content if content is not None else ""}
        if m.get("tool_calls"):
            item["tool_calls"] = [_call(c) for c in m["tool_calls"]]
        for key, target in (("name", "name"), ("tool_call_id", "tool_call_id"), ("reasoning", "reasoning_content")):
            if m.get(key) is not None:
                item[target] = m[key]
        out.append(item)
    return out


def _call(call: Mapping[str, Any]) -> dict[str, Any]:
    function = dict(call.get("function") or {})
    arguments = function.get("arguments")
    if isinstance(arguments, str):
        try:
            function["arguments"] = json.loads(arguments) if arguments.strip() else {}
        except json.JSONDecodeError:
            pass
    call_id = {"id": call["id"]} if call.get("id") else {}
    return {"type": call.get("type", "function"), "function": function, **call_id}


def template_plan(encoder: Encoder, rendered: Rendered, starts: Any, flags: Sequence[bool]) -> RowPlan:
    """A rendered conversation's plan from its tokens' start offsets: each assistant span mapped to its tokens."""
    import numpy as np

    text = rendered.text

    def position(char: int) -> int:
        offset = len(text[:char].encode("utf-8")) if encoder.unit == "byte" else char
        return int(np.searchsorted(starts, offset, side="left"))

    spans = tuple(
        (position(s.start), position(s.end), bool(flags[s.message]) if s.message >= 0 else True) for s in rendered.spans
    )
    prompt = spans[-1][0] if spans else len(starts)
    return RowPlan(len(starts), prompt, spans)


def cookbook_plan(
    encoder: Any, messages: Sequence[Mapping[str, Any]], tools_tokens: int, flags: Sequence[bool]
) -> RowPlan:
    """OpenAI's cookbook count (3 tokens a message + role + content, 1 + name for a name, 3 to prime the reply);
    the priming and tool definitions are placed first so each reply's tokens sit where its message is."""
    position = COOKBOOK_PRIMING + tools_tokens
    spans = []
    for message, trained in zip(messages, flags):
        position += COOKBOOK_PER_MESSAGE + encoder.count(str(message.get("role", "")))
        if message.get("name"):
            position += 1 + encoder.count(str(message["name"]))
        content = message.get("content") or ""
        if message.get("tool_calls"):
            content += json.dumps(message["tool_calls"], ensure_ascii=False)
        length = len(encoder.ordinary(content)) if content else 0
        if message.get("role") == "assistant":
            spans.append((position, position + length, trained))
        position += length
    prompt = spans[-1][0] if spans else position
    return RowPlan(position, prompt, tuple(spans))


def infer_seqlen(source: int, target: int, budget: int) -> tuple[int, int]:
    """LLaMA-Factory's split of a budget between a prompt and its reply (data/processor/processor_utils.py)."""
    if target * 2 < budget:
        max_target = budget
    elif source * 2 < budget:
        max_target = budget - source
    else:
        max_target = int(budget * (target / (source + target)))
    new_target = min(max_target, target)
    new_source = min(max(budget - new_target, 0), source)
    return new_source, new_target


def truncate(plan: RowPlan, limit: int, mode: str) -> Outcome:
    if plan.total <= limit:
        return Outcome(plan.total, plan.trained)
    if mode == "drop":
        return Outcome(0, 0, dropped=True)
    if mode == "prompt_first":
        return _prompt_first(plan, limit)
    low, high = (0, limit) if mode == "keep_start" else (plan.total - limit, plan.total)
    trained = sum(max(0, min(end, high) - max(start, low)) for start, end, flag in plan.spans if flag)
    return Outcome(limit, trained)


def _prompt_first(plan: RowPlan, limit: int) -> Outcome:
    kept = trained = 0
    previous = 0
    for k, (start, end, flag) in enumerate(plan.spans):
        if kept >= limit:
            break
        stop = plan.total if k == len(plan.spans) - 1 else end  # trailing template text rides with the last reply
        source, target = infer_seqlen(start - previous, stop - start, limit - kept)
        kept += source + target
        trained += min(target, end - start) if flag else 0
        previous = stop
    return Outcome(kept, trained)

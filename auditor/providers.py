"""Providers' published dataset rules, one `Rule` each, evaluated on the normalised rows.

Row rules return a reason when a row breaks them; set rules look at the whole set. Every rule names
its source; `ftaudit explain PRV` prints them (checks/provider.py renders this table into its docs).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

PROVIDERS = ("generic", "openai", "azure", "together", "fireworks", "bedrock", "vertex")
OPENAI_DOCS = "https://platform.openai.com/docs/guides/supervised-fine-tuning"
OPENAI_DPO = "https://platform.openai.com/docs/guides/direct-preference-optimization"
AZURE_DOCS = "https://learn.microsoft.com/azure/ai-foundry/openai/how-to/fine-tuning"
TOGETHER_DOCS = "https://docs.together.ai/docs/fine-tuning-data-preparation"
FIREWORKS_DOCS = "https://docs.fireworks.ai/fine-tuning/fine-tuning-models"
BEDROCK_DOCS = "https://docs.aws.amazon.com/bedrock/latest/userguide/preparing-text-data.html"
NOVA_DOCS = "https://docs.aws.amazon.com/nova/latest/userguide/fine-tune-prepare-data-understanding.html"
VERTEX_DOCS = "https://cloud.google.com/vertex-ai/generative-ai/docs/models/gemini-supervised-tuning-prepare"

ACCEPTED = {
    "openai": ("chat", "openai_preference"),
    "azure": ("chat", "openai_preference"),
    "together": ("chat", "prompt_completion", "text", "openai_preference"),
    "fireworks": ("chat", "openai_preference"),
    "bedrock": ("bedrock", "prompt_completion"),
    "vertex": ("gemini",),
}
MIN_EXAMPLES = {"openai": 10, "azure": 10}
MAX_EXAMPLE_TOKENS = {"openai": 65_536, "azure": 65_536, "bedrock": 32_000, "vertex": 131_072}
BEDROCK_KEYS = {
    "bedrock": {"schemaVersion", "system", "messages", "toolConfig"},
    "prompt_completion": {"prompt", "completion"},
}

Row = Mapping[str, Any]


@dataclass(frozen=True)
class Rule:
    id: str
    code: str
    providers: tuple[str, ...]
    text: str
    source: str
    row: Callable[[Row, str], str | None] | None = None


def turns(row: Row) -> list[dict[str, Any]]:
    if "_turns" in row:
        return list(row["_turns"])
    return json.loads(row["messages"]) if row.get("messages") else []


def system_first(row: Row, fmt: str) -> str | None:
    at = next((i for i, m in enumerate(turns(row)) if m["role"] == "system" and i > 0), None)
    return f"a system message at turn {at + 1}, not first" if at is not None else None


def alternation(row: Row, fmt: str) -> str | None:
    """User and assistant alternate from a user turn; assistant → tool → assistant is one assistant turn."""
    kept: list[str] = []
    after_tool = False
    for role in (m["role"] for m in turns(row) if m["role"] != "system"):
        if role == "tool":
            after_tool = True
            continue
        if not (role == "assistant" and after_tool and kept and kept[-1] == "assistant"):
            kept.append(role)
        after_tool = False
    if kept and kept[0] != "user":
        return f"starts with a {kept[0]} turn, not a user turn"
    twice = next((i for i in range(1, len(kept)) if kept[i] == kept[i - 1]), None)
    return f"two {kept[twice]} turns in a row" if twice is not None else None


def ends_with_assistant(row: Row, fmt: str) -> str | None:
    messages = turns(row)
    return None if messages and messages[-1]["role"] == "assistant" else "the last turn is not an assistant turn"


def weight_on_assistant(row: Row, fmt: str) -> str | None:
    bad = [i + 1 for i, m in enumerate(turns(row)) if m["train"] is not None and m["role"] != "assistant"]
    return f"a weight on a non-assistant message (turn {bad[0]})" if bad else None


def extraneous_keys(row: Row, fmt: str) -> str | None:
    allowed = BEDROCK_KEYS.get(fmt)
    keys = set((row.get("record_keys") or "").split(",")) - {""}
    extra = sorted(keys - allowed) if allowed else []
    return f"extraneous key(s) {', '.join(extra)}" if extra else None


def preference_text_only(row: Row, fmt: str) -> str | None:
    if fmt != "openai_preference":
        return None
    chosen, rejected = turns(row), json.loads(row["rejected_messages"] or "[]")
    shared = next((i for i, (a, b) in enumerate(zip(chosen, rejected)) if a != b), min(len(chosen), len(rejected)))
    if len(chosen) - shared != 1 or len(rejected) - shared != 1:
        return "preferred_output and non_preferred_output must each be one assistant message"
    if row.get("images") or row.get("tool_calls") or any(m["tool_calls"] for m in rejected[shared:]):
        return "preference data must be text only (no images or tool calls in the outputs)"
    return None


RULES = (
    Rule(
        "format",
        "PRV001",
        ("openai", "azure", "together", "fireworks", "bedrock", "vertex"),
        "the provider accepts only its own record formats",
        f"{OPENAI_DOCS}; {TOGETHER_DOCS}; {FIREWORKS_DOCS}; {BEDROCK_DOCS}; {NOVA_DOCS}; {VERTEX_DOCS}",
    ),
    Rule(
        "system-first",
        "PRV002",
        ("together", "fireworks"),
        "a system message may only be the first message",
        f"{TOGETHER_DOCS}; {FIREWORKS_DOCS}",
        system_first,
    ),
    Rule(
        "alternation",
        "PRV002",
        ("bedrock", "vertex"),
        "user and assistant (model) turns alternate, starting with user; tool results belong to the assistant's turn",
        f"{BEDROCK_DOCS}; {NOVA_DOCS}; {VERTEX_DOCS}",
        alternation,
    ),
    Rule(
        "last-assistant",
        "PRV002",
        ("bedrock", "vertex"),
        "the last turn is an assistant (model) turn",
        f"{BEDROCK_DOCS}; {VERTEX_DOCS}",
        ends_with_assistant,
    ),
    Rule(
        "no-extra-keys",
        "PRV003",
        ("bedrock",),
        "no extraneous keys: only schemaVersion, system, messages (toolConfig), or prompt and completion",
        f"{BEDROCK_DOCS}; {NOVA_DOCS}",
        extraneous_keys,
    ),
    Rule(
        "min-examples", "PRV004", tuple(MIN_EXAMPLES), "at least 10 training examples", f"{OPENAI_DOCS}; {AZURE_DOCS}"
    ),
    Rule(
        "example-tokens",
        "PRV005",
        tuple(MAX_EXAMPLE_TOKENS),
        "each example within the model's per-example token limit (max_example_tokens; cl100k_base estimate)",
        f"{OPENAI_DOCS}; {BEDROCK_DOCS}; {VERTEX_DOCS}",
    ),
    Rule(
        "mixed-weights",
        "PRV006",
        ("fireworks",),
        "rows with per-message weights are not mixed with rows without them",
        FIREWORKS_DOCS,
    ),
    Rule(
        "weight-on-assistant",
        "PRV007",
        ("openai", "azure", "together", "fireworks"),
        "`weight` (0 or 1) only on assistant messages",
        f"{OPENAI_DOCS}; {TOGETHER_DOCS}; {FIREWORKS_DOCS}",
        weight_on_assistant,
    ),
    Rule(
        "preference-text-only",
        "PRV008",
        ("openai", "azure", "together", "fireworks"),
        "preference examples are single-turn and text only: one preferred and one non-preferred assistant message",
        f"{OPENAI_DPO}; {TOGETHER_DOCS}",
        preference_text_only,
    ),
    Rule(
        "homogeneous",
        "PRV009",
        ("bedrock",),
        "a homogeneous set: every record has the same shape (the same keys; all text-only or all with media)",
        NOVA_DOCS,
    ),
)


DOMAINS = {
    "openai": "openai.com",
    "azure": "microsoft.com",
    "together": "together.ai",
    "fireworks": "fireworks.ai",
    "bedrock": "aws.amazon.com",
    "vertex": "cloud.google.com",
}


def source_for(rule: Rule, provider: str) -> str:
    """The rule's sources on the provider's own site (Azure falls back to OpenAI's pages)."""
    urls = [u.strip() for u in rule.source.split(";")]
    own = [u for u in urls if DOMAINS[provider] in u] or [u for u in urls if "openai.com" in u] or urls
    return "; ".join(own)


def rules_for(provider: str) -> list[Rule]:
    return [r for r in RULES if provider in r.providers]


def rules_doc() -> str:
    """The rule table for the check's documentation."""
    lines = []
    for provider in PROVIDERS[1:]:
        lines.append(f"  {provider}:")
        for r in rules_for(provider):
            lines.append(f"    {r.code} {provider}.{r.id}: {r.text}")
            lines.append(f"        source: {source_for(r, provider)}")
    return "\n".join(lines)

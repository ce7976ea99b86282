"""Consistency of generative outputs: final answers, and the output format most rows share.

A format rule is a property (JSON or text, JSON key set, tool call or text reply, tool argument
types, a final-answer line, a fixed prefix or suffix) whose most common value is shared by at
least `min_share` of the rows it applies to; the rows with another value break the rule.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

FINAL_ANSWERS: dict[str, re.Pattern[str]] = {
    "#### <answer>": re.compile(r"^[ \t]*####[ \t]*(.+?)[ \t]*$", re.M),
    "\\boxed{<answer>}": re.compile(r"\\boxed\{([^{}]*)\}"),
    "the answer is <answer>": re.compile(r"\b(?:final answer|the answer)\s*(?:is|:)\s*:?\s*(.+?)\s*$", re.I | re.M),
    "Answer: <answer>": re.compile(r"^[ \t]*answer[ \t]*:[ \t]*(.+?)[ \t]*$", re.I | re.M),
}
NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")
MARKER_CHARS = set("#<>[]{}|=*~`\\/\n\t")
MAX_AFFIX = 32


@dataclass(frozen=True)
class FormatRule:
    name: str
    dominant: str
    share: float
    breaks: tuple[int, ...]  # row positions that break the rule
    variants: dict[str, int]  # value -> rows, most common first


def canonical_number(text: str) -> str:
    try:
        value = Decimal(text.replace(",", ""))
    except InvalidOperation:
        return text
    if value == value.to_integral_value():
        return str(value.quantize(Decimal(1)))
    return format(value.normalize(), "f")


def normalise_answer(text: str) -> str:
    answer = text.strip().strip("$").rstrip(".").strip()
    if NUMBER.fullmatch(answer.replace(" ", "")):
        return canonical_number(answer.replace(" ", ""))
    return " ".join(answer.casefold().split())


def final_answer(text: str, pattern: str) -> str | None:
    found = FINAL_ANSWERS[pattern].findall(text)
    return normalise_answer(found[-1]) if found else None


def answer_pattern(outputs: Sequence[str], min_share: float) -> str | None:
    """The final-answer pattern found in the most outputs, when at least `min_share` of them have it."""
    if not outputs:
        return None
    shares = {name: sum(1 for o in outputs if p.search(o)) / len(outputs) for name, p in FINAL_ANSWERS.items()}
    name, share = max(shares.items(), key=lambda item: item[1])
    return name if share >= min_share else None


def numbers(text: str) -> tuple[str, ...]:
    return tuple(sorted(canonical_number(n) for n in NUMBER.findall(text)))


def parsed_json(text: str) -> Any:
    stripped = text.strip()
    if not stripped or stripped[0] not in "[{":
        return None
    try:
        return json.loads(stripped)
    except json.JSONDecodeError:
        return None


def json_kind(text: str) -> str:
    value = parsed_json(text)
    return "JSON object" if isinstance(value, dict) else "JSON array" if isinstance(value, list) else "text"


def json_keys(text: str) -> str | None:
    value = parsed_json(text)
    return "keys " + ", ".join(sorted(value)) if isinstance(value, dict) else None


def argument_types(output: str) -> dict[str, str]:
    """'tool.argument' -> JSON type name, for every argument of every call in a tool-call output."""
    calls = parsed_json(output)
    types: dict[str, str] = {}
    for call in calls if isinstance(calls, list) else []:
        arguments = call.get("arguments") if isinstance(call, dict) else None
        for key, value in arguments.items() if isinstance(arguments, dict) else ():
            types[f"{call.get('name')}.{key}"] = type(value).__name__
    return types


def is_marker(affix: str, suffix: bool) -> bool:
    """A separator or stop marker, not ordinary prose: marker characters, edge whitespace or an upper-case word."""
    edge = affix[-1] if suffix else affix[0]
    word = affix.strip()
    return bool(MARKER_CHARS & set(affix)) or edge.isspace() or (len(word) >= 3 and word.isalpha() and word.isupper())


def shared_affix(texts: Sequence[str], min_share: float, suffix: bool) -> str:
    """The longest marker prefix (or suffix) of at most MAX_AFFIX characters shared by `min_share` of the texts."""
    best = ""
    for length in range(1, MAX_AFFIX + 1):
        cut = Counter(t[-length:] if suffix else t[:length] for t in texts if len(t) > length)
        if not cut:
            break
        affix, count = cut.most_common(1)[0]
        if count < min_share * len(texts):
            break
        if is_marker(affix, suffix):
            best = affix
    return best


def dominant_rule(name: str, values: Sequence[str | None], min_share: float) -> FormatRule | None:
    """The rule 'value is the most common one' when it holds for min_share ≤ share < 1 of the applicable rows."""
    counts = Counter(v for v in values if v is not None)
    applicable = sum(counts.values())
    if not counts or applicable < 2:
        return None
    dominant, count = counts.most_common(1)[0]
    if count == applicable or count < min_share * applicable:
        return None
    breaks = tuple(row for row, v in enumerate(values) if v is not None and v != dominant)
    return FormatRule(name, dominant, round(count / applicable, 4), breaks, dict(counts.most_common()))


def affix_rule(
    name: str, texts: Sequence[str], rows: Sequence[int], min_share: float, suffix: bool
) -> FormatRule | None:
    affix = shared_affix(texts, min_share, suffix)
    if not affix:
        return None
    has: Callable[[str], bool] = (lambda t: t.endswith(affix)) if suffix else (lambda t: t.startswith(affix))
    values: list[str | None] = [None] * (max(rows, default=-1) + 1)
    for row, text in zip(rows, texts):
        values[row] = f"{'ends' if suffix else 'starts'} with {affix!r}" if has(text) else "other"
    return dominant_rule(name, values, min_share)


def format_rules(
    outputs: Sequence[str], tool_calls: Sequence[bool], inputs: Sequence[str], prompt_format: bool, min_share: float
) -> list[FormatRule]:
    """Every format rule most outputs follow and some break."""
    rules = [
        dominant_rule("tool call or text reply", ["tool call" if t else "text reply" for t in tool_calls], min_share)
    ]
    text_rows = [r for r, t in enumerate(tool_calls) if not t]
    kinds: list[str | None] = [json_kind(o) if not t else None for o, t in zip(outputs, tool_calls)]
    rules.append(dominant_rule("JSON or text output", kinds, min_share))
    rules.append(
        dominant_rule(
            "JSON key set", [json_keys(o) if k == "JSON object" else None for o, k in zip(outputs, kinds)], min_share
        )
    )
    types = [argument_types(o) if t else {} for o, t in zip(outputs, tool_calls)]
    for argument in sorted({a for row in types for a in row}):
        rule = dominant_rule(f"type of tool argument {argument}", [row.get(argument) for row in types], min_share)
        rules.append(rule)
    pattern = answer_pattern([outputs[r] for r in text_rows], min_share)
    if pattern:
        marks: list[str | None] = [None] * len(outputs)
        for r in text_rows:
            marks[r] = "has " + pattern if FINAL_ANSWERS[pattern].search(outputs[r]) else "no final answer"
        rules.append(dominant_rule("final-answer line", marks, min_share))
    plain = [r for r in text_rows if kinds[r] == "text"]
    texts = [outputs[r] for r in plain]
    rules.append(affix_rule("output prefix", texts, plain, min_share, suffix=False))
    rules.append(affix_rule("output suffix", texts, plain, min_share, suffix=True))
    if prompt_format:
        rules.append(affix_rule("prompt separator", list(inputs), list(range(len(inputs))), min_share, suffix=True))
    return [rule for rule in rules if rule is not None]

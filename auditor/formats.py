"""Record formats: detection from field names, and parsing one record into input/output/label."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, Mapping

CHAT_ROLES = ("system", "developer", "user", "assistant", "tool", "function")
TEXT_FIELDS = ("text", "sentence", "query", "input", "utterance", "question", "prompt", "content")
LABEL_FIELDS = ("label", "category", "intent", "class")
FORMATS = ("chat", "prompt_completion", "instruction", "classification", "text", "mapped")
PAIRS = (("prompt", "completion"), ("question", "answer"))


class RecordError(Exception):
    """One record cannot be used; `code` is its FMT finding code."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class Parsed:
    input: str
    output: str | None
    label: str | None = None
    system: str | None = None
    turns: int = 1
    roles: str = ""
    tool_calls: bool = False
    tools: str | None = None


@dataclass(frozen=True)
class FieldMap:
    input: str | None = None
    output: str | None = None
    label: str | None = None

    def is_set(self) -> bool:
        return any((self.input, self.output, self.label))


def first_key(record: Mapping[str, Any], names: tuple[str, ...]) -> str | None:
    return next((n for n in names if n in record), None)


def classification_fields(record: Mapping[str, Any]) -> tuple[str, str] | None:
    label = first_key(record, LABEL_FIELDS)
    text = first_key(record, tuple(n for n in TEXT_FIELDS if n != label))
    return (text, label) if text and label else None


def matches(fmt: str, record: Mapping[str, Any], needs_output: bool) -> bool:
    if fmt == "chat":
        return "messages" in record
    if fmt == "prompt_completion":
        return any(i in record and (o in record or not needs_output) for i, o in PAIRS)
    if fmt == "instruction":
        return "instruction" in record and ("output" in record or not needs_output)
    if fmt == "classification":
        return classification_fields(record) is not None
    if fmt == "text":
        return not needs_output and first_key(record, TEXT_FIELDS) is not None
    return False


def detect(records: list[Mapping[str, Any]], needs_output: bool) -> tuple[str, float]:
    """The format most records match, with the share that match it."""
    candidates = [f for f in FORMATS if f != "mapped"]
    best, best_share = "", 0.0
    for fmt in candidates:
        share = sum(matches(fmt, r, needs_output) for r in records) / max(len(records), 1)
        if share > best_share:
            best, best_share = fmt, share
    return best, best_share


def _text(record: Mapping[str, Any], key: str, allow_numbers: bool = False) -> str:
    if key not in record:
        raise RecordError("FMT003", f"missing field '{key}'")
    value = record[key]
    if value is None:
        raise RecordError("FMT003", f"field '{key}' is null")
    if allow_numbers and isinstance(value, (int, float, bool)):
        return str(value)
    if not isinstance(value, str):
        raise RecordError("FMT003", f"field '{key}' is {type(value).__name__}, not a string")
    return value


def _nonempty(value: str, what: str) -> str:
    if not value.strip():
        raise RecordError("FMT007", f"{what} is empty")
    return value


def _message_content(message: Mapping[str, Any], index: int) -> str | None:
    content = message.get("content")
    if content is None:
        return None
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, Mapping) and isinstance(part.get("text"), str):
                parts.append(part["text"])
            elif not (isinstance(part, Mapping) and "type" in part):
                raise RecordError("FMT003", f"messages[{index}].content has an unreadable part")
        return "\n".join(parts)
    raise RecordError("FMT003", f"messages[{index}].content is {type(content).__name__}, not a string")


def _tool_call_text(message: Mapping[str, Any], index: int) -> str:
    calls = message.get("tool_calls") if "tool_calls" in message else [message.get("function_call")]
    if not isinstance(calls, list) or not calls:
        raise RecordError("FMT003", f"messages[{index}].tool_calls is not a non-empty list")
    rendered = []
    for call in calls:
        fn = call.get("function", call) if isinstance(call, Mapping) else None
        if not isinstance(fn, Mapping) or not isinstance(fn.get("name"), str):
            raise RecordError("FMT003", f"messages[{index}] has a tool call without a function name")
        args = fn.get("arguments", "")
        if isinstance(args, str):
            try:
                args = json.loads(args) if args.strip() else {}
            except json.JSONDecodeError:
                raise RecordError("FMT008", f"messages[{index}] tool call arguments are not valid JSON") from None
        rendered.append({"name": fn["name"], "arguments": args})
    return json.dumps(rendered, sort_keys=True, ensure_ascii=False)


def _tool_definitions(record: Mapping[str, Any]) -> str | None:
    """The record's `tools` (or legacy `functions`) as canonical JSON text; they are billed with every row."""
    tools = record.get("tools", record.get("functions"))
    return json.dumps(tools, ensure_ascii=False, sort_keys=True) if tools else None


def parse_chat(record: Mapping[str, Any], needs_output: bool) -> Parsed:
    messages = record.get("messages")
    if "messages" not in record:
        raise RecordError("FMT003", "missing field 'messages'")
    if not isinstance(messages, list):
        raise RecordError("FMT003", f"'messages' is {type(messages).__name__}, not a list")
    if not messages:
        raise RecordError("FMT004", "'messages' is empty")
    texts: list[tuple[str, str | None, bool]] = []
    for i, message in enumerate(messages):
        if not isinstance(message, Mapping):
            raise RecordError("FMT003", f"messages[{i}] is {type(message).__name__}, not an object")
        role = message.get("role")
        if role not in CHAT_ROLES:
            raise RecordError("FMT006", f"messages[{i}] has role {role!r}; expected one of {', '.join(CHAT_ROLES[:5])}")
        weight = message.get("weight", 1)
        if weight not in (0, 1):
            raise RecordError("FMT003", f"messages[{i}].weight is {weight!r}; expected 0 or 1")
        has_calls = role == "assistant" and ("tool_calls" in message or "function_call" in message)
        content = _message_content(message, i)
        if has_calls:
            content = (content + "\n" if content else "") + _tool_call_text(message, i)
        elif content is None:
            raise RecordError("FMT003", f"messages[{i}] ({role}) has no content")
        texts.append((role, content, has_calls))
    roles = [r for r, _, _ in texts]
    if "user" not in roles:
        raise RecordError("FMT004", "no user message")
    assistant_at = max((i for i, r in enumerate(roles) if r == "assistant"), default=None)
    if assistant_at is None and needs_output:
        raise RecordError("FMT004", "no assistant message")
    ends_with_reply = assistant_at is not None and (needs_output or assistant_at == len(texts) - 1)
    cut = assistant_at if ends_with_reply else len(texts)
    context = [c for r, c, _ in texts[:cut] if r not in ("system", "developer") and c]
    if not context:
        raise RecordError("FMT004", "no user message before the assistant reply")
    system = next((c for r, c, _ in texts if r in ("system", "developer")), None)
    output = None
    tool_calls = False
    if needs_output and assistant_at is not None:
        output = _nonempty(texts[assistant_at][1] or "", "assistant reply")
        tool_calls = texts[assistant_at][2]
    return Parsed(
        input=_nonempty("\n".join(context), "user message"),
        output=output,
        system=system,
        turns=max(roles.count("assistant"), 1),
        roles=",".join(roles),
        tool_calls=tool_calls,
        tools=_tool_definitions(record),
    )


def parse_prompt_completion(record: Mapping[str, Any], needs_output: bool) -> Parsed:
    in_key, out_key = next(((i, o) for i, o in PAIRS if i in record), PAIRS[0])
    text = _nonempty(_text(record, in_key), f"'{in_key}'")
    output = _nonempty(_text(record, out_key, allow_numbers=True), f"'{out_key}'") if needs_output else None
    return Parsed(input=text, output=output)


def parse_instruction(record: Mapping[str, Any], needs_output: bool) -> Parsed:
    instruction = _nonempty(_text(record, "instruction"), "'instruction'")
    extra = record.get("input")
    if extra is not None and not isinstance(extra, str):
        raise RecordError("FMT003", f"field 'input' is {type(extra).__name__}, not a string")
    text = instruction + ("\n\n" + extra if extra and extra.strip() else "")
    output = _nonempty(_text(record, "output"), "'output'") if needs_output else None
    return Parsed(input=text, output=output)


def parse_classification(record: Mapping[str, Any], needs_output: bool) -> Parsed:
    fields = classification_fields(record)
    if fields is None:
        raise RecordError("FMT003", f"missing a text field ({'/'.join(TEXT_FIELDS[:4])}) or a label field ({'/'.join(LABEL_FIELDS)})")
    text_key, label_key = fields
    text = _nonempty(_text(record, text_key), f"'{text_key}'")
    label = _nonempty(_text(record, label_key, allow_numbers=True), f"'{label_key}'") if needs_output else None
    return Parsed(input=text, output=label, label=label)


def parse_text(record: Mapping[str, Any], needs_output: bool) -> Parsed:
    key = first_key(record, TEXT_FIELDS)
    if key is None:
        raise RecordError("FMT003", f"missing a text field ({'/'.join(TEXT_FIELDS)})")
    return Parsed(input=_nonempty(_text(record, key), f"'{key}'"), output=None)


def parser_for(fmt: str, fields: FieldMap) -> Callable[[Mapping[str, Any], bool], Parsed]:
    if fmt == "mapped":
        return lambda record, needs_output: parse_mapped(record, needs_output, fields)
    return {
        "chat": parse_chat,
        "prompt_completion": parse_prompt_completion,
        "instruction": parse_instruction,
        "classification": parse_classification,
        "text": parse_text,
    }[fmt]


def parse_mapped(record: Mapping[str, Any], needs_output: bool, fields: FieldMap) -> Parsed:
    if not fields.input:
        raise RecordError("FMT003", "field mapping needs an input field")
    text = _nonempty(_text(record, fields.input), f"'{fields.input}'")
    if not needs_output:
        return Parsed(input=text, output=None)
    if fields.label:
        label = _nonempty(_text(record, fields.label, allow_numbers=True), f"'{fields.label}'")
        return Parsed(input=text, output=label, label=label)
    if not fields.output:
        raise RecordError("FMT003", "field mapping needs an output or a label field")
    return Parsed(input=text, output=_nonempty(_text(record, fields.output, allow_numbers=True), f"'{fields.output}'"))


def field_names(fmt: str, record: Mapping[str, Any] | None, fields: FieldMap) -> dict[str, str]:
    """Which record fields feed the input, output and label columns (for the report)."""
    record = record or {}
    if fmt == "mapped":
        return {k: v for k, v in (("input", fields.input), ("output", fields.output), ("label", fields.label)) if v}
    if fmt == "chat":
        return {"input": "messages[user...]", "output": "messages[last assistant]"}
    if fmt == "prompt_completion":
        in_key, out_key = next(((i, o) for i, o in PAIRS if i in record), PAIRS[0])
        return {"input": in_key, "output": out_key}
    if fmt == "instruction":
        return {"input": "instruction+input", "output": "output"}
    if fmt == "classification":
        pair = classification_fields(record) or ("text", "label")
        return {"input": pair[0], "label": pair[1]}
    key = first_key(record, TEXT_FIELDS) or "text"
    return {"input": key}

"""What every record format shares: the parsed row, the format object, and the normalised conversation."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

Message = dict[str, Any]
TEXT_FIELDS = ("text", "sentence", "query", "input", "utterance", "question", "prompt", "content")
LABEL_FIELDS = ("label", "category", "intent", "class")


class RecordError(Exception):
    """One record cannot be used; `code` is its FMT finding code."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(slots=True)  # one per row: not frozen, so it is cheap to make (nothing changes it once made)
class Parsed:
    input: str
    output: str | None
    label: str | None = None
    system: str | None = None
    turns: int = 1
    roles: str = ""
    tool_calls: bool = False
    tools: str | None = None
    messages: list[Message] | None = None
    rejected: str | None = None
    rejected_messages: list[Message] | None = None
    chosen_rating: float | None = None
    rejected_rating: float | None = None
    kto_label: bool | None = None
    images: int = 0


@dataclass(frozen=True)
class FieldMap:
    input: str | None = None
    output: str | None = None
    label: str | None = None

    def is_set(self) -> bool:
        return any((self.input, self.output, self.label))


Detect = Callable[[Mapping[str, Any], bool], bool]
Parse = Callable[[Mapping[str, Any], bool, FieldMap], Parsed]
FieldNames = Callable[[Mapping[str, Any], FieldMap], dict[str, str]]


@dataclass(frozen=True)
class RecordFormat:
    """One input format: how to recognise a record, parse it, and name the fields it reads.

    `fields` and `maps` are the README table's cells; `doc` is the user documentation with sources;
    `task` is the task the format implies (None: inferred from the outputs); `auto` formats take part
    in detection (the others only by `--data-format` or a field mapping)."""

    name: str
    fields: str
    maps: str
    doc: str
    detect: Detect
    parse: Parse
    field_names: FieldNames
    task: str | None = None
    auto: bool = True
    aliases: tuple[str, ...] = field(default=())


def first_key(record: Mapping[str, Any], names: tuple[str, ...]) -> str | None:
    return next((n for n in names if n in record), None)


def text_field(record: Mapping[str, Any], key: str, allow_numbers: bool = False) -> str:
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


def nonempty(value: str, what: str) -> str:
    if not value.strip():
        raise RecordError("FMT007", f"{what} is empty")
    return value


def message(
    role: str,
    content: str,
    *,
    train: bool | None = None,
    tool_calls: list[dict[str, Any]] | None = None,
    name: str | None = None,
    tool_call_id: str | None = None,
    reasoning: str | None = None,
    source_role: str | None = None,
) -> Message:
    """One turn of the normalised conversation (the `messages` column's contract)."""
    out: Message = {
        "role": role,
        "content": content,
        "train": train,
        "tool_calls": tool_calls or None,
        "name": name,
        "tool_call_id": tool_call_id,
        "reasoning": reasoning,
    }
    if source_role and source_role != role:
        out["source_role"] = source_role
    return out


def call(name: str, arguments: Any, call_id: str | None = None, legacy: bool = False) -> dict[str, Any]:
    """A tool call in OpenAI's shape; `arguments` stays the exact JSON text given (objects are serialised)."""
    text = arguments if isinstance(arguments, str) else json.dumps(arguments, ensure_ascii=False)
    out: dict[str, Any] = {"id": call_id, "type": "function", "function": {"name": name, "arguments": text}}
    if legacy:
        out["legacy"] = True
    return out


def calls_text(calls: list[dict[str, Any]], where: str) -> str:
    """The calls as canonical JSON (the `output` of a tool-calling reply); FMT008 when arguments are not JSON."""
    rendered = []
    for c in calls:
        args: Any = c["function"]["arguments"]
        try:
            args = json.loads(args) if args.strip() else {}
        except json.JSONDecodeError:
            raise RecordError("FMT008", f"{where} tool call arguments are not valid JSON") from None
        rendered.append({"name": c["function"]["name"], "arguments": args})
    return json.dumps(rendered, sort_keys=True, ensure_ascii=False)


def flat(m: Message, where: str = "message") -> str:
    """A turn as one text: its content, then its tool calls as canonical JSON."""
    if not m["tool_calls"]:
        return str(m["content"])
    calls = calls_text(m["tool_calls"], where)
    return (m["content"] + "\n" if m["content"] else "") + calls


def tools_json(tools: Any) -> str | None:
    """Tool definitions as JSON text in the file's key order (billed with every row; chat templates render them in
    that order, so target token counts need it; compare definitions with `sort_keys=True`)."""
    return json.dumps(tools, ensure_ascii=False) if tools else None


def conversation(
    messages: list[Message],
    needs_output: bool,
    *,
    roles: str | None = None,
    tools: str | None = None,
    images: int = 0,
    label: str | None = None,
) -> Parsed:
    """input = the non-system turns before the last assistant reply, output = that reply (tool calls as JSON)."""
    kinds = [m["role"] for m in messages]
    if "user" not in kinds:
        raise RecordError("FMT004", "no user message")
    assistant_at = len(kinds) - 1 - kinds[::-1].index("assistant") if "assistant" in kinds else None
    if assistant_at is None and needs_output:
        raise RecordError("FMT004", "no assistant message")
    ends_with_reply = assistant_at is not None and (needs_output or assistant_at == len(messages) - 1)
    cut = assistant_at if ends_with_reply and assistant_at is not None else len(messages)
    context = [
        m["content"] if not m["tool_calls"] else flat(m, f"messages[{i}]")
        for i, m in enumerate(messages[:cut])
        if m["role"] != "system"
    ]
    context = [c for c in context if c]
    if not context:
        raise RecordError("FMT004", "no user message before the assistant reply")
    system = next((m["content"] for m in messages if m["role"] == "system"), None)
    output, has_calls = None, False
    if needs_output and assistant_at is not None:
        reply = messages[assistant_at]
        output = nonempty(
            reply["content"] if not reply["tool_calls"] else flat(reply, f"messages[{assistant_at}]"), "assistant reply"
        )
        has_calls = bool(reply["tool_calls"])
    return Parsed(
        input=nonempty("\n".join(context), "user message"),
        output=output,
        label=label,
        system=system,
        turns=max(kinds.count("assistant"), 1),
        roles=roles if roles is not None else ",".join(kinds),
        tool_calls=has_calls,
        tools=tools,
        messages=messages,
        images=images,
    )


def simple(text: str, output: str | None, label: str | None = None, system: str | None = None) -> Parsed:
    """A single-turn row: user text, then the reply when there is one."""
    messages = ([message("system", system)] if system else []) + [message("user", text)]
    if output is not None:
        messages.append(message("assistant", output))
    return Parsed(
        input=text,
        output=output,
        label=label,
        system=system,
        roles=",".join(m["role"] for m in messages),
        messages=messages,
    )

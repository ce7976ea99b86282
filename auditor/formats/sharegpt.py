"""ShareGPT conversations (LLaMA-Factory, Axolotl, Unsloth, FastChat) and Gemini/Vertex `contents`."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from auditor.formats.base import (
    FieldMap,
    Message,
    Parsed,
    RecordError,
    RecordFormat,
    call,
    calls_text,
    conversation,
    message,
    tools_json,
)

SHAREGPT_ROLES = {
    "system": "system",
    "human": "user",
    "user": "user",
    "input": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "output": "assistant",
    "model": "assistant",
    "chatgpt": "assistant",
    "bing": "assistant",
    "bard": "assistant",
    "function_call": "assistant",
    "observation": "tool",
    "tool": "tool",
    "function": "tool",
    "ipython": "tool",
}


def sharegpt_calls(value: str, where: str) -> list[dict[str, Any]]:
    """LLaMA-Factory's `function_call` turn: a JSON object {name, arguments}, or a list of them."""
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError:
        raise RecordError("FMT008", f"{where} function_call value is not valid JSON") from None
    items = parsed if isinstance(parsed, list) else [parsed]
    if not items or not all(isinstance(i, Mapping) and isinstance(i.get("name"), str) for i in items):
        raise RecordError("FMT003", f"{where} has a function call without a function name")
    calls = [call(i["name"], i.get("arguments", {})) for i in items]
    calls_text(calls, where)
    return calls


def sharegpt_turn(turn: Any, where: str) -> Message:
    if not isinstance(turn, Mapping):
        raise RecordError("FMT003", f"{where} is {type(turn).__name__}, not an object")
    tag_key, text_key = ("from", "value") if "from" in turn or "value" in turn else ("role", "content")
    tag = turn.get(tag_key)
    if tag not in SHAREGPT_ROLES:
        raise RecordError(
            "FMT006",
            f"{where} has {tag_key} {tag!r}; expected human, gpt, system, function_call, "
            "observation (or user/assistant/tool)",
        )
    value = turn.get(text_key)
    if not isinstance(value, str):
        what = "null" if value is None else type(value).__name__
        raise RecordError("FMT003", f"{where}.{text_key} is {what}, not a string")
    role = SHAREGPT_ROLES[tag]
    if tag == "function_call":
        return message("assistant", "", tool_calls=sharegpt_calls(value, where), source_role=tag)
    train = turn.get("weight")
    return message(role, value, train=bool(train) if train in (0, 1) else None, source_role=tag)


def sharegpt_messages(record: Mapping[str, Any], key: str = "conversations") -> tuple[list[Message], list[str]]:
    value = record.get(key)
    if key not in record:
        raise RecordError("FMT003", f"missing field '{key}'")
    if not isinstance(value, list):
        raise RecordError("FMT003", f"'{key}' is {type(value).__name__}, not a list")
    if not value:
        raise RecordError("FMT004", f"'{key}' is empty")
    turns = [sharegpt_turn(t, f"{key}[{i}]") for i, t in enumerate(value)]
    system = record.get("system")
    if system is not None and not isinstance(system, str):
        raise RecordError("FMT003", f"field 'system' is {type(system).__name__}, not a string")
    if system and not any(t["role"] == "system" for t in turns):
        turns.insert(0, message("system", system))
    return turns, [str(t.get("source_role", t["role"])) for t in turns]


def sharegpt_tools(record: Mapping[str, Any]) -> str | None:
    tools = record.get("tools")
    if isinstance(tools, str) and tools.strip():
        try:
            tools = json.loads(tools)
        except json.JSONDecodeError:
            raise RecordError("FMT003", "field 'tools' is a string that is not JSON") from None
    return tools_json(tools)


def parse_sharegpt(record: Mapping[str, Any], needs_output: bool, _: FieldMap = FieldMap()) -> Parsed:
    messages, roles = sharegpt_messages(record)
    return conversation(messages, needs_output, roles=",".join(roles), tools=sharegpt_tools(record))


SHAREGPT = RecordFormat(
    name="sharegpt",
    fields="`conversations` of `{from, value}` (human/gpt/system/function_call/observation) or `{role, content}`, "
    "optional `system`, `tools`",
    maps="as chat",
    doc="ShareGPT as read by LLaMA-Factory (`formatting: sharegpt`, tags human/gpt/function_call/observation, "
    "`tools` as a JSON string), Axolotl (`type: chat_template` with `field_messages: conversations`) and "
    "Unsloth's `standardize_sharegpt` (also role/content keys). Sources: "
    "https://github.com/hiyouga/LLaMA-Factory/blob/main/data/README.md, "
    "https://docs.axolotl.ai/docs/dataset-formats/conversation.html, "
    "https://docs.unsloth.ai/basics/datasets-guide.",
    detect=lambda r, needs_output: "conversations" in r,
    parse=parse_sharegpt,
    field_names=lambda r, f: {"input": "conversations[human...]", "output": "conversations[last gpt]"},
)

GEMINI_ROLES = {"user": "user", "model": "assistant", "function": "tool", "tool": "tool"}


def gemini_parts(parts: Any, where: str) -> tuple[str, list[dict[str, Any]], list[tuple[str, str]], int]:
    """(text, function calls, function responses (name, JSON), file/inline parts)."""
    if not isinstance(parts, list):
        raise RecordError("FMT003", f"{where}.parts is {type(parts).__name__}, not a list")
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    responses: list[tuple[str, str]] = []
    media = 0
    for part in parts:
        if not isinstance(part, Mapping):
            raise RecordError("FMT003", f"{where}.parts has an unreadable part")
        if isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif isinstance(part.get("functionCall"), Mapping) and isinstance(part["functionCall"].get("name"), str):
            fc = part["functionCall"]
            calls.append(call(fc["name"], fc.get("args", {}), fc.get("id")))
        elif isinstance(part.get("functionResponse"), Mapping):
            fr = part["functionResponse"]
            responses.append((str(fr.get("name", "")), json.dumps(fr.get("response", {}), ensure_ascii=False)))
        elif "fileData" in part or "inlineData" in part:
            media += 1
        else:
            raise RecordError("FMT003", f"{where}.parts has an unreadable part ({', '.join(sorted(part)) or 'empty'})")
    return "\n".join(texts), calls, responses, media


def parse_gemini(record: Mapping[str, Any], needs_output: bool, _: FieldMap = FieldMap()) -> Parsed:
    contents = record.get("contents")
    if not isinstance(contents, list):
        raise RecordError("FMT003", f"'contents' is {type(contents).__name__}, not a list")
    if not contents:
        raise RecordError("FMT004", "'contents' is empty")
    messages: list[Message] = []
    instruction = record.get("systemInstruction", record.get("system_instruction"))
    if instruction is not None:
        if not isinstance(instruction, Mapping):
            raise RecordError("FMT003", "'systemInstruction' is not an object with parts")
        messages.append(message("system", gemini_parts(instruction.get("parts"), "systemInstruction")[0]))
    roles, media = [], 0
    for i, turn in enumerate(contents):
        where = f"contents[{i}]"
        if not isinstance(turn, Mapping):
            raise RecordError("FMT003", f"{where} is {type(turn).__name__}, not an object")
        role = turn.get("role")
        if role not in GEMINI_ROLES:
            raise RecordError("FMT006", f"{where} has role {role!r}; expected user or model")
        text, calls, responses, parts = gemini_parts(turn.get("parts"), where)
        media += parts
        roles.append(role)
        for name, response in responses:
            messages.append(message("tool", response, name=name, source_role=role))
        if text or calls or not responses:
            messages.append(message(GEMINI_ROLES[role], text, tool_calls=calls, source_role=role))
    if messages and messages[0]["role"] == "system":
        roles.insert(0, "system")
    return conversation(
        messages, needs_output, roles=",".join(roles), tools=tools_json(record.get("tools")), images=media
    )


GEMINI = RecordFormat(
    name="gemini",
    fields="`contents` of `{role, parts}` (role user or model; parts `text`, `fileData`, `functionCall`, "
    "`functionResponse`), optional `systemInstruction` `{parts}`, `tools` (`functionDeclarations`)",
    maps="as chat",
    doc="Gemini supervised tuning JSONL on Vertex AI (and the Gemini API's `contents` shape). File parts are counted "
    "(FMT017), not embedded. Source: "
    "https://cloud.google.com/vertex-ai/generative-ai/docs/models/gemini-supervised-tuning-prepare.",
    detect=lambda r, needs_output: "contents" in r,
    parse=parse_gemini,
    field_names=lambda r, f: {"input": "contents[user...]", "output": "contents[last model]"},
)

"""OpenAI-style chat (`messages`) and Amazon Bedrock's conversation formats."""

from __future__ import annotations

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

CHAT_ROLES = ("system", "developer", "user", "assistant", "tool", "function")
ROLE_MAP = {"developer": "system", "function": "tool"}
PLAIN_ROLES = frozenset(("system", "user", "assistant", "tool"))
MEDIA_PARTS = ("image_url", "image", "input_image", "input_audio", "audio", "file", "input_file", "video")
REASONING_KEYS = ("reasoning_content", "thinking", "reasoning")


def content_text(content: Any, where: str) -> tuple[str | None, int]:
    """A message's text (text parts joined by newlines) and how many media parts it carries."""
    if content is None or isinstance(content, str):
        return content, 0
    if not isinstance(content, list):
        raise RecordError("FMT003", f"{where}.content is {type(content).__name__}, not a string")
    parts, media = [], 0
    for part in content:
        if isinstance(part, Mapping) and isinstance(part.get("text"), str):
            parts.append(part["text"])
        elif isinstance(part, Mapping) and (part.get("type") in MEDIA_PARTS or any(k in part for k in MEDIA_PARTS)):
            media += 1
        elif not (isinstance(part, Mapping) and "type" in part):
            raise RecordError("FMT003", f"{where}.content has an unreadable part")
    return "\n".join(parts), media


def openai_calls(m: Mapping[str, Any], where: str) -> list[dict[str, Any]]:
    legacy = m.get("tool_calls") is None
    raw = m.get("tool_calls") if not legacy else [m.get("function_call")]
    if not isinstance(raw, list) or not raw:
        raise RecordError("FMT003", f"{where}.tool_calls is not a non-empty list")
    calls = []
    for c in raw:
        fn = c.get("function", c) if isinstance(c, Mapping) else None
        if not isinstance(fn, Mapping) or not isinstance(fn.get("name"), str):
            raise RecordError("FMT003", f"{where} has a tool call without a function name")
        call_id = c.get("id") if isinstance(c, Mapping) and isinstance(c.get("id"), str) else None
        calls.append(call(fn["name"], fn.get("arguments", ""), call_id, legacy))
    calls_text(calls, where)
    return calls


def reasoning_of(m: Mapping[str, Any]) -> str | None:
    if "reasoning_content" not in m and "thinking" not in m and "reasoning" not in m:
        return None
    value = next((m[k] for k in REASONING_KEYS if isinstance(m.get(k), str)), None)
    return value or None


def train_flag(m: Mapping[str, Any], where: str) -> bool | None:
    if m.get("weight") is None:
        return None
    weight = m["weight"]
    if weight not in (0, 1):
        raise RecordError("FMT003", f"{where}.weight is {weight!r}; expected 0 or 1")
    return bool(weight)


def openai_messages(value: Any, key: str = "messages", root_weight: Any = None) -> tuple[list[Message], list[str], int]:
    """OpenAI chat messages normalised: (messages, the roles as written, media parts)."""
    if not isinstance(value, list):
        raise RecordError("FMT003", f"'{key}' is {type(value).__name__}, not a list")
    if not value:
        raise RecordError("FMT004", f"'{key}' is empty")
    out: list[Message] = []
    roles: list[str] = []
    media = 0
    for i, m in enumerate(value):
        if type(m) is dict and len(m) == 2 and type(m.get("content")) is str and m.get("role") in PLAIN_ROLES:
            role = m["role"]  # the common case, {role, content}: nothing else to read
            out.append(
                {
                    "role": role,
                    "content": m["content"],
                    "train": None if root_weight is None or role != "assistant" else bool(root_weight),
                    "tool_calls": None,
                    "name": None,
                    "tool_call_id": None,
                    "reasoning": None,
                }
            )
            roles.append(role)
            continue
        where = f"{key}[{i}]"
        if not isinstance(m, dict):
            raise RecordError("FMT003", f"{where} is {type(m).__name__}, not an object")
        role = m.get("role")
        if role not in CHAT_ROLES:
            raise RecordError("FMT006", f"{where} has role {role!r}; expected one of {', '.join(CHAT_ROLES[:5])}")
        train = train_flag(m, where)
        if train is None and role == "assistant" and root_weight is not None:
            train = bool(root_weight)
        has_calls = m.get("tool_calls") is not None or m.get("function_call") is not None
        calls = openai_calls(m, where) if role == "assistant" and has_calls else None
        content, parts = content_text(m.get("content"), where)
        media += parts
        if content is None and not calls:
            if not parts:
                raise RecordError("FMT003", f"{where} ({role}) has no content")
            content = ""
        name = m.get("name")
        call_id = m.get("tool_call_id")
        name = name if type(name) is str else None
        call_id = call_id if type(call_id) is str else None
        out.append(
            message(
                ROLE_MAP.get(str(role), str(role)),
                content or "",
                train=train,
                tool_calls=calls,
                name=name,
                tool_call_id=call_id,
                reasoning=reasoning_of(m),
                source_role=role,
            )
        )
        roles.append(role)
    return out, roles, media


def root_weight(record: Mapping[str, Any]) -> Any:
    weight = record.get("weight")
    if weight is None:
        return None
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or weight < 0:
        raise RecordError("FMT003", f"root 'weight' is {weight!r}; expected a number ≥ 0")
    return weight


def parse_chat(record: Mapping[str, Any], needs_output: bool, _: FieldMap = FieldMap()) -> Parsed:
    if "messages" not in record:
        raise RecordError("FMT003", "missing field 'messages'")
    messages, roles, media = openai_messages(record["messages"], root_weight=root_weight(record))
    tools = record.get("tools", record.get("functions"))
    return conversation(messages, needs_output, roles=",".join(roles), tools=tools_json(tools), images=media)


CHAT = RecordFormat(
    name="chat",
    fields="`messages` (system/developer/user/assistant/tool/function roles; content a string or a list of parts; "
    "`tool_calls`, legacy `function_call`; `weight` per message; `thinking`/`reasoning_content`), optional "
    "`tools`/`functions` and root-level `weight`",
    maps="non-system turns before the last assistant reply / that reply (tool calls as JSON)",
    doc="OpenAI chat fine-tuning JSONL, also TRL's conversational language-modelling type. `developer` is read as "
    "system; image/audio/file parts are counted (FMT017), not embedded; reasoning fields are kept apart from the "
    "reply. Sources: https://platform.openai.com/docs/guides/supervised-fine-tuning, "
    "https://huggingface.co/docs/trl/dataset_formats, https://docs.fireworks.ai/fine-tuning/fine-tuning-models "
    "(root-level weight), https://docs.together.ai/docs/fine-tuning-data-preparation.",
    detect=lambda r, needs_output: "messages" in r,
    parse=parse_chat,
    field_names=lambda r, f: {"input": "messages[user...]", "output": "messages[last assistant]"},
)


Blocks = tuple[str, list[dict[str, Any]], list[tuple[str | None, str]], int, str | None]


def bedrock_blocks(content: Any, where: str) -> Blocks:
    """Converse content blocks: (text, tool calls, tool results (id, text), media blocks, reasoning)."""
    if isinstance(content, str):
        return content, [], [], 0, None
    if not isinstance(content, list):
        raise RecordError("FMT003", f"{where}.content is {type(content).__name__}, not a string or a list")
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    results: list[tuple[str | None, str]] = []
    media, reasoning = 0, None
    for block in content:
        if not isinstance(block, Mapping):
            raise RecordError("FMT003", f"{where}.content has an unreadable block")
        if isinstance(block.get("text"), str):
            texts.append(block["text"])
        elif isinstance(block.get("toolUse"), Mapping) and isinstance(block["toolUse"].get("name"), str):
            use = block["toolUse"]
            calls.append(call(use["name"], use.get("input", {}), use.get("toolUseId")))
        elif isinstance(block.get("toolResult"), Mapping):
            result = block["toolResult"]
            inner = result.get("content", [])
            parts = (
                [
                    b.get("text") if isinstance(b.get("text"), str) else json_text(b.get("json"))
                    for b in inner
                    if isinstance(b, Mapping)
                ]
                if isinstance(inner, list)
                else [str(inner)]
            )
            results.append((result.get("toolUseId"), "\n".join(p for p in parts if p)))
        elif isinstance(block.get("reasoningContent"), Mapping):
            text = block["reasoningContent"].get("reasoningText", {})
            reasoning = text.get("text") if isinstance(text, Mapping) else None
        elif any(k in block for k in ("image", "document", "video")):
            media += 1
        else:
            keys = ", ".join(sorted(block)) or "empty"
            raise RecordError("FMT003", f"{where}.content has an unreadable block ({keys})")
    return "\n".join(texts), calls, results, media, reasoning


def json_text(value: Any) -> str:
    import json

    return json.dumps(value, ensure_ascii=False, sort_keys=True) if value is not None else ""


def parse_bedrock(record: Mapping[str, Any], needs_output: bool, _: FieldMap = FieldMap()) -> Parsed:
    if "messages" not in record:
        raise RecordError("FMT003", "missing field 'messages'")
    value = record["messages"]
    if not isinstance(value, list):
        raise RecordError("FMT003", f"'messages' is {type(value).__name__}, not a list")
    if not value:
        raise RecordError("FMT004", "'messages' is empty")
    system = record.get("system")
    if isinstance(system, list):
        system = "\n".join(b["text"] for b in system if isinstance(b, Mapping) and isinstance(b.get("text"), str))
    elif system is not None and not isinstance(system, str):
        raise RecordError("FMT003", f"'system' is {type(system).__name__}, not a string or a list of text blocks")
    messages: list[Message] = [message("system", system)] if system else []
    media = 0
    for i, m in enumerate(value):
        where = f"messages[{i}]"
        if not isinstance(m, Mapping):
            raise RecordError("FMT003", f"{where} is {type(m).__name__}, not an object")
        role = m.get("role")
        if role not in ("user", "assistant"):
            raise RecordError("FMT006", f"{where} has role {role!r}; expected user or assistant")
        text, calls, results, parts, reasoning = bedrock_blocks(m.get("content"), where)
        media += parts
        for call_id, result in results:
            messages.append(message("tool", result, tool_call_id=call_id, source_role="user"))
        if text or calls or not results:
            messages.append(message(role, text, tool_calls=calls, reasoning=reasoning))
    tools = record.get("toolConfig", {}).get("tools") if isinstance(record.get("toolConfig"), Mapping) else None
    return conversation(messages, needs_output, tools=tools_json(tools), images=media)


BEDROCK = RecordFormat(
    name="bedrock",
    fields="`messages` (user/assistant; content a string or Converse blocks `text`/`image`/`toolUse`/`toolResult`) "
    "with a root `system` (string or `[{text}]`) or `schemaVersion: bedrock-conversation-2024`",
    maps="as chat",
    doc="Amazon Bedrock fine-tuning: Claude/Llama conversational JSONL `{system, messages}` and the Converse schema "
    "used by Amazon Nova (`schemaVersion: bedrock-conversation-2024`, system and content as lists of blocks). "
    "Sources: https://docs.aws.amazon.com/bedrock/latest/userguide/preparing-text-data.html, "
    "https://docs.aws.amazon.com/nova/latest/userguide/fine-tune-prepare-data-understanding.html.",
    detect=lambda r, needs_output: "messages" in r and ("schemaVersion" in r or "system" in r),
    parse=parse_bedrock,
    field_names=lambda r, f: {"input": "messages[user...]", "output": "messages[last assistant]", "system": "system"},
)

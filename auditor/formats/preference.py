"""Preference data: TRL paired (explicit or implicit prompt) and unpaired (KTO), LLaMA-Factory, OpenAI DPO."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from auditor.formats.base import (
    FieldMap,
    Message,
    Parsed,
    RecordError,
    RecordFormat,
    flat,
    message,
    nonempty,
    text_field,
    tools_json,
)
from auditor.formats.chat import openai_messages
from auditor.formats.sharegpt import sharegpt_messages, sharegpt_tools, sharegpt_turn
from auditor.formats.simple import parse_instruction

RATINGS = (
    ("chosen_rating", "rejected_rating"),
    ("score_chosen", "score_rejected"),
    ("chosen-rating", "rejected-rating"),
)
TRANSCRIPT = re.compile(r"\n\n(Human|Assistant):[ \t]?")


def ratings(record: Mapping[str, Any]) -> tuple[float | None, float | None]:
    def number(key: str) -> float | None:
        value = record.get(key)
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None

    for chosen, rejected in RATINGS:
        if chosen in record or rejected in record:
            return number(chosen), number(rejected)
    return None, None


def prompt_text(prompt: list[Message]) -> str:
    return nonempty("\n".join(t for t in (flat(m) for m in prompt if m["role"] != "system") if t), "prompt")


def reply_text(side: list[Message], key: str) -> str:
    last = next((m for m in reversed(side) if m["role"] == "assistant"), None)
    if last is None:
        raise RecordError("FMT004", f"'{key}' has no assistant reply")
    return nonempty(flat(last), f"{key} reply")


def paired(
    record: Mapping[str, Any],
    prompt: list[Message],
    chosen: list[Message],
    rejected: list[Message],
    roles: list[str],
    tools: str | None = None,
    images: int = 0,
) -> Parsed:
    """A preference row from its prompt turns and the two sides' completion turns."""
    if not any(m["role"] == "user" for m in prompt):
        raise RecordError("FMT004", "no user message in the prompt")
    output, other = reply_text(chosen, "chosen"), reply_text(rejected, "rejected")
    good, bad = ratings(record)
    system = next((m["content"] for m in prompt if m["role"] == "system"), None)
    return Parsed(
        input=prompt_text(prompt),
        output=output,
        system=system,
        turns=max(sum(m["role"] == "assistant" for m in prompt + chosen), 1),
        roles=",".join(roles),
        tool_calls=bool(next(m for m in reversed(chosen) if m["role"] == "assistant")["tool_calls"]),
        tools=tools,
        messages=prompt + chosen,
        rejected=other,
        rejected_messages=prompt + rejected,
        chosen_rating=good,
        rejected_rating=bad,
        images=images,
    )


def side(value: Any, key: str) -> tuple[list[Message], list[str], int]:
    """One side given as a string (one assistant turn) or a message list."""
    if isinstance(value, str):
        return [message("assistant", value)], ["assistant"], 0
    if isinstance(value, Mapping):
        value = [value]
    return openai_messages(value, key)


def transcript(text: str) -> list[Message] | None:
    """Anthropic HH style `\\n\\nHuman: … \\n\\nAssistant: …` as turns; None when the text is not one."""
    pieces = TRANSCRIPT.split(text)
    if len(pieces) < 5 or pieces[0].strip():
        return None
    return [message("user" if who == "Human" else "assistant", body) for who, body in zip(pieces[1::2], pieces[2::2])]


def shared_prefix(chosen: list[Message], rejected: list[Message]) -> int:
    """TRL's `extract_prompt`: the first turn where the sides differ; sides equal up to the shorter one's end keep
    that turn (its last) out of the prompt, so identical sides still have a reply each."""
    shortest = min(len(chosen), len(rejected))
    return next((i for i in range(shortest) if chosen[i] != rejected[i]), max(shortest - 1, 0))


def implicit_messages(
    record: Mapping[str, Any], chosen: list[Message], rejected: list[Message], roles: list[str], images: int = 0
) -> Parsed:
    """TRL's `extract_prompt` on message lists: the shared leading turns are the prompt. Sides that part at a later
    user or system turn stay as given (`rejected_messages`), for the preference check to report (PREF001)."""
    cut = shared_prefix(chosen, rejected)
    if not any(m["role"] == "user" for m in chosen[:cut]):
        raise RecordError(
            "FMT016", f"chosen and rejected share no prompt (they part at turn {cut + 1}, before any shared user turn)"
        )
    return paired(record, chosen[:cut], chosen[cut:], rejected[cut:], roles, images=images)


def implicit_strings(record: Mapping[str, Any], chosen: str, rejected: str) -> Parsed:
    good, bad = transcript(chosen), transcript(rejected)
    if good is not None and bad is not None:
        return implicit_messages(record, good, bad, [m["role"] for m in good])
    cut = next((i for i, (a, b) in enumerate(zip(chosen, rejected)) if a != b), min(len(chosen), len(rejected)))
    if cut and chosen[cut - 1] == " ":
        cut -= 1
    if not chosen[:cut].strip():
        raise RecordError("FMT016", "chosen and rejected share no prompt (they differ from the first character)")
    prompt = [message("user", chosen[:cut])]
    return paired(
        record,
        prompt,
        [message("assistant", chosen[cut:])],
        [message("assistant", rejected[cut:])],
        ["user", "assistant"],
    )


def parse_preference(record: Mapping[str, Any], needs_output: bool, _: FieldMap = FieldMap()) -> Parsed:
    for key in ("chosen", "rejected"):
        if key not in record:
            raise RecordError("FMT003", f"missing field '{key}'")
        if not isinstance(record[key], (str, list)):
            raise RecordError("FMT003", f"field '{key}' is {type(record[key]).__name__}, not a string or a list")
    chosen, rejected, prompt = record["chosen"], record["rejected"], record.get("prompt")
    conversational = isinstance(chosen, list)
    if isinstance(rejected, list) != conversational:
        raise RecordError("FMT003", "'chosen' and 'rejected' are not both strings or both message lists")
    if prompt is None or isinstance(prompt, list) != conversational:
        if conversational:
            good, roles, media = openai_messages(chosen, "chosen")
            return implicit_messages(record, good, openai_messages(rejected, "rejected")[0], roles, media)
        return implicit_strings(record, chosen, rejected)
    if isinstance(prompt, str):
        turns = [message("user", nonempty(prompt, "'prompt'"))]
        good_side, good_roles = side(chosen, "chosen")[:2]
        return paired(record, turns, good_side, side(rejected, "rejected")[0], ["user"] + good_roles)
    turns, roles, media = openai_messages(prompt, "prompt")
    good_side, good_roles, more = side(chosen, "chosen")
    return paired(
        record,
        turns,
        good_side,
        side(rejected, "rejected")[0],
        roles + good_roles,
        tools_json(record.get("tools")),
        media + more,
    )


def parse_alpaca_preference(record: Mapping[str, Any], needs_output: bool, _: FieldMap = FieldMap()) -> Parsed:
    base = parse_instruction({**record, "output": "-"}, needs_output=False)
    prompt = base.messages or []
    good = nonempty(text_field(record, "chosen"), "'chosen'")
    bad = nonempty(text_field(record, "rejected"), "'rejected'")
    return paired(
        record,
        prompt,
        [message("assistant", good)],
        [message("assistant", bad)],
        [m["role"] for m in prompt] + ["assistant"],
    )


def parse_sharegpt_preference(record: Mapping[str, Any], needs_output: bool, _: FieldMap = FieldMap()) -> Parsed:
    prompt, roles = sharegpt_messages(record)
    sides = []
    for key in ("chosen", "rejected"):
        if key not in record:
            raise RecordError("FMT003", f"missing field '{key}'")
        value = record[key]
        sides.append([message("assistant", value)] if isinstance(value, str) else [sharegpt_turn(value, key)])
    return paired(record, prompt, sides[0], sides[1], roles + ["gpt"], sharegpt_tools(record))


def parse_openai_preference(record: Mapping[str, Any], needs_output: bool, _: FieldMap = FieldMap()) -> Parsed:
    given = record.get("input")
    if not isinstance(given, Mapping):
        raise RecordError("FMT003", "'input' is not an object with 'messages'")
    if "messages" not in given:
        raise RecordError("FMT003", "missing field 'input.messages'")
    prompt, roles, media = openai_messages(given["messages"], "input.messages")
    sides = []
    for key in ("preferred_output", "non_preferred_output"):
        if key not in record:
            raise RecordError("FMT003", f"missing field '{key}'")
        sides.append(openai_messages(record[key], key)[0])
    return paired(record, prompt, sides[0], sides[1], roles + ["assistant"], tools_json(given.get("tools")), media)


def parse_kto(record: Mapping[str, Any], needs_output: bool, _: FieldMap = FieldMap()) -> Parsed:
    label = record.get("label")
    if not isinstance(label, bool):
        raise RecordError("FMT003", f"field 'label' is {type(label).__name__}, not true/false")
    prompt, completion = record.get("prompt"), record.get("completion")
    if isinstance(prompt, list):
        turns, roles, media = openai_messages(prompt, "prompt")
        reply, more, extra = side(completion, "completion")
        media += extra
    else:
        turns = [message("user", nonempty(text_field(record, "prompt"), "'prompt'"))]
        reply, more, media = [message("assistant", text_field(record, "completion"))], ["assistant"], 0
        roles = ["user"]
    output = reply_text(reply, "completion")  # both labels are trained (KTO learns from undesirable ones too)
    system = next((m["content"] for m in turns if m["role"] == "system"), None)
    return Parsed(
        input=prompt_text(turns),
        output=output,
        system=system,
        roles=",".join(roles + more),
        messages=turns + reply,
        kto_label=label,
        images=media,
    )


def has_sides(r: Mapping[str, Any]) -> bool:
    return "chosen" in r or "rejected" in r


PREFERENCE = RecordFormat(
    name="preference",
    fields="`chosen`, `rejected` (strings or message lists), optional `prompt`; ratings `chosen_rating`/"
    "`score_chosen`/`chosen-rating` (and rejected)",
    maps="prompt / chosen reply (rejected reply in `rejected`)",
    doc="TRL's preference type (DPO, ORPO, CPO, reward modelling), standard or conversational, with an explicit or "
    "implicit prompt. An implicit prompt is the two sides' shared beginning, as TRL's `maybe_extract_prompt` "
    "takes it; Anthropic HH transcripts (`\\n\\nHuman: … \\n\\nAssistant: …`) are split into turns first. Two "
    "sides that share no user turn have no prompt in common and cannot form a pair (FMT016); sides that share "
    "the prompt and part later (at a user, system or earlier assistant turn) load as a pair and the preference "
    "check reports them (PREF001). Sources: "
    "https://huggingface.co/docs/trl/dataset_formats, "
    "https://github.com/huggingface/trl/blob/main/trl/data_utils.py (maybe_extract_prompt).",
    detect=lambda r, needs_output: "chosen" in r and "rejected" in r,
    parse=parse_preference,
    field_names=lambda r, f: {
        "input": "prompt" if "prompt" in r else "chosen[shared prefix]",
        "output": "chosen",
        "rejected": "rejected",
    },
    task="preference",
)
ALPACA_PREFERENCE = RecordFormat(
    name="alpaca_preference",
    fields="`instruction`, `input`, `chosen`, `rejected`, optional `system`, `history`",
    maps="instruction + input / chosen",
    doc="LLaMA-Factory's alpaca preference columns (`ranking: true`). "
    "Source: https://github.com/hiyouga/LLaMA-Factory/blob/main/data/README.md.",
    detect=lambda r, needs_output: "instruction" in r and has_sides(r),
    parse=parse_alpaca_preference,
    field_names=lambda r, f: {"input": "instruction+input", "output": "chosen", "rejected": "rejected"},
    task="preference",
)
SHAREGPT_PREFERENCE = RecordFormat(
    name="sharegpt_preference",
    fields="`conversations` + `chosen`/`rejected` (one `{from, value}` turn each)",
    maps="conversations / chosen",
    doc="LLaMA-Factory's sharegpt preference columns (`ranking: true`). "
    "Source: https://github.com/hiyouga/LLaMA-Factory/blob/main/data/README.md.",
    detect=lambda r, needs_output: "conversations" in r and has_sides(r),
    parse=parse_sharegpt_preference,
    field_names=lambda r, f: {"input": "conversations", "output": "chosen", "rejected": "rejected"},
    task="preference",
)
OPENAI_PREFERENCE = RecordFormat(
    name="openai_preference",
    fields="`input` `{messages, tools?, parallel_tool_calls?}`, `preferred_output`, `non_preferred_output`",
    maps="input.messages / preferred_output",
    doc="OpenAI's direct preference optimisation JSONL, also accepted by Together and Fireworks. Sources: "
    "https://platform.openai.com/docs/guides/direct-preference-optimization, "
    "https://docs.together.ai/docs/fine-tuning-data-preparation.",
    detect=lambda r, needs_output: (
        isinstance(r.get("input"), Mapping) and ("preferred_output" in r or "non_preferred_output" in r)
    ),
    parse=parse_openai_preference,
    field_names=lambda r, f: {
        "input": "input.messages",
        "output": "preferred_output",
        "rejected": "non_preferred_output",
    },
    task="preference",
)
KTO = RecordFormat(
    name="kto",
    fields="`prompt`, `completion` (strings or message lists), `label` (true/false)",
    maps="prompt / completion (desirable or not in `kto_label`)",
    doc="TRL's unpaired preference type (KTO, BCO). Source: https://huggingface.co/docs/trl/dataset_formats.",
    detect=lambda r, needs_output: "prompt" in r and "completion" in r and isinstance(r.get("label"), bool),
    parse=parse_kto,
    field_names=lambda r, f: {"input": "prompt", "output": "completion", "label": "label"},
    task="preference",
)

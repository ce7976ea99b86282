"""Single-turn formats: prompt/completion (TRL standard or conversational), Alpaca, classification, text, mapped."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from auditor.formats.base import (
    LABEL_FIELDS,
    TEXT_FIELDS,
    FieldMap,
    Message,
    Parsed,
    RecordError,
    RecordFormat,
    conversation,
    first_key,
    message,
    nonempty,
    simple,
    text_field,
)
from auditor.formats.chat import openai_messages

PAIRS = (("prompt", "completion"), ("question", "answer"))


def classification_fields(record: Mapping[str, Any]) -> tuple[str, str] | None:
    label = first_key(record, LABEL_FIELDS)
    text = first_key(record, tuple(n for n in TEXT_FIELDS if n != label))
    return (text, label) if text and label else None


def pair_keys(record: Mapping[str, Any]) -> tuple[str, str]:
    return next(((i, o) for i, o in PAIRS if i in record), PAIRS[0])


def parse_prompt_completion(record: Mapping[str, Any], needs_output: bool, _: FieldMap = FieldMap()) -> Parsed:
    in_key, out_key = pair_keys(record)
    if isinstance(record.get(in_key), list):
        return conversational_pair(record, in_key, out_key, needs_output)
    text = nonempty(text_field(record, in_key), f"'{in_key}'")
    output = nonempty(text_field(record, out_key, allow_numbers=True), f"'{out_key}'") if needs_output else None
    return simple(text, output)


def conversational_pair(record: Mapping[str, Any], in_key: str, out_key: str, needs_output: bool) -> Parsed:
    """TRL's conversational prompt-completion: two message lists, the completion's turns are trained on."""
    prompt, roles, media = openai_messages(record[in_key], in_key)
    completion: list[Message] = []
    if needs_output or out_key in record:
        if out_key not in record:
            raise RecordError("FMT003", f"missing field '{out_key}'")
        completion, more, extra = openai_messages(record[out_key], out_key)
        roles, media = roles + more, media + extra
    for m in completion:
        m["train"] = True if m["train"] is None and m["role"] == "assistant" else m["train"]
    return conversation(prompt + completion, needs_output, roles=",".join(roles), images=media)


def parse_instruction(record: Mapping[str, Any], needs_output: bool, _: FieldMap = FieldMap()) -> Parsed:
    instruction = nonempty(text_field(record, "instruction"), "'instruction'")
    extra = record.get("input")
    if extra is not None and not isinstance(extra, str):
        raise RecordError("FMT003", f"field 'input' is {type(extra).__name__}, not a string")
    text = instruction + ("\n\n" + extra if extra and extra.strip() else "")
    output = nonempty(text_field(record, "output"), "'output'") if needs_output else None
    system = record.get("system")
    if system is not None and not isinstance(system, str):
        raise RecordError("FMT003", f"field 'system' is {type(system).__name__}, not a string")
    history = record.get("history") or []
    if not history:
        return simple(text, output, system=system or None)
    pairs = isinstance(history, list) and all(
        isinstance(h, list) and len(h) == 2 and all(isinstance(t, str) for t in h) for h in history
    )
    if not pairs:
        raise RecordError("FMT003", "field 'history' is not a list of [question, answer] string pairs")
    messages = [message("system", system)] if system else []
    for question, answer in history:
        messages += [message("user", question), message("assistant", answer)]
    messages.append(message("user", text))
    if output is not None:
        messages.append(message("assistant", output))
    return conversation(messages, needs_output)


def parse_classification(record: Mapping[str, Any], needs_output: bool, _: FieldMap = FieldMap()) -> Parsed:
    fields = classification_fields(record)
    if fields is None:
        raise RecordError(
            "FMT003", f"missing a text field ({'/'.join(TEXT_FIELDS[:4])}) or a label field ({'/'.join(LABEL_FIELDS)})"
        )
    text_key, label_key = fields
    text = nonempty(text_field(record, text_key), f"'{text_key}'")
    label = nonempty(text_field(record, label_key, allow_numbers=True), f"'{label_key}'") if needs_output else None
    return simple(text, label, label=label)


def text_detect(record: Mapping[str, Any], needs_output: bool) -> bool:
    if needs_output:
        return isinstance(record.get("text"), str) and classification_fields(record) is None
    return first_key(record, TEXT_FIELDS) is not None


def parse_text(record: Mapping[str, Any], needs_output: bool, _: FieldMap = FieldMap()) -> Parsed:
    key = first_key(record, TEXT_FIELDS)
    if key is None:
        raise RecordError("FMT003", f"missing a text field ({'/'.join(TEXT_FIELDS)})")
    text = nonempty(text_field(record, key), f"'{key}'")
    if not needs_output:
        return simple(text, None)
    return Parsed(input=text, output=text, roles="assistant", messages=[message("assistant", text, train=True)])


def parse_mapped(record: Mapping[str, Any], needs_output: bool, fields: FieldMap) -> Parsed:
    if not fields.input:
        raise RecordError("FMT003", "field mapping needs an input field")
    text = nonempty(text_field(record, fields.input), f"'{fields.input}'")
    if not needs_output:
        return simple(text, None)
    if fields.label:
        label = nonempty(text_field(record, fields.label, allow_numbers=True), f"'{fields.label}'")
        return simple(text, label, label=label)
    if not fields.output:
        raise RecordError("FMT003", "field mapping needs an output or a label field")
    return simple(text, nonempty(text_field(record, fields.output, allow_numbers=True), f"'{fields.output}'"))


PROMPT_COMPLETION = RecordFormat(
    name="prompt_completion",
    fields="`prompt`/`completion` (strings, or TRL conversational message lists) or `question`/`answer`; "
    "a `prompt` alone for production inputs",
    maps="prompt / completion",
    doc="Prompt-completion pairs: OpenAI's legacy format, Bedrock's non-conversational format, TRL's standard and "
    "conversational prompt-completion (and prompt-only) types. Sources: "
    "https://huggingface.co/docs/trl/dataset_formats, "
    "https://docs.aws.amazon.com/bedrock/latest/userguide/preparing-text-data.html.",
    detect=lambda r, needs_output: any(i in r and (o in r or not needs_output) for i, o in PAIRS),
    parse=parse_prompt_completion,
    field_names=lambda r, f: dict(zip(("input", "output"), pair_keys(r))),
)
INSTRUCTION = RecordFormat(
    name="instruction",
    fields="Alpaca `instruction`, `input`, `output`, optional `system` and `history` (`[[q, a], …]`)",
    maps="history turns + instruction + input / output",
    doc="Alpaca (Stanford) and LLaMA-Factory's alpaca format; `history` turns come before the instruction and are "
    "trained on too. Source: https://github.com/hiyouga/LLaMA-Factory/blob/main/data/README.md.",
    detect=lambda r, needs_output: "instruction" in r and ("output" in r or not needs_output),
    parse=parse_instruction,
    field_names=lambda r, f: {"input": "instruction+input", "output": "output"},
)
CLASSIFICATION = RecordFormat(
    name="classification",
    fields="text (`text`, `sentence`, `query`, `input`, …) + label (`label`, `category`, `intent`, `class`)",
    maps="text / label",
    doc="A text and its label, e.g. Banking77's `text,category` CSV.",
    detect=lambda r, needs_output: classification_fields(r) is not None,
    parse=parse_classification,
    field_names=lambda r, f: dict(zip(("input", "label"), classification_fields(r) or ("text", "label"))),
    task="classification",
)
TEXT = RecordFormat(
    name="text",
    fields="`text` (training: TRL language modelling); production: any text field, or a `.txt` line",
    maps="the text / the text (language modelling trains on all of it)",
    doc='TRL\'s standard language-modelling type `{"text": …}`, and production inputs with one text field. '
    "Source: https://huggingface.co/docs/trl/dataset_formats.",
    detect=text_detect,
    parse=parse_text,
    field_names=lambda r, f: {"input": first_key(r, TEXT_FIELDS) or "text"},
)
MAPPED = RecordFormat(
    name="mapped",
    fields="any fields named with `--field input=… --field output=…` (or `label=…`)",
    maps="the named fields",
    doc="An explicit field mapping for records no other format recognises.",
    detect=lambda r, needs_output: False,
    parse=parse_mapped,
    field_names=lambda r, f: {k: v for k, v in (("input", f.input), ("output", f.output), ("label", f.label)) if v},
    auto=False,
)

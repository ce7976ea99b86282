"""Record formats: one `RecordFormat` per dialect in one registry that feeds detection, parsing,
`--data-format` choices and the README's format table."""

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
    first_key,
)
from auditor.formats.chat import BEDROCK, CHAT, CHAT_ROLES
from auditor.formats.preference import ALPACA_PREFERENCE, KTO, OPENAI_PREFERENCE, PREFERENCE, SHAREGPT_PREFERENCE
from auditor.formats.sharegpt import GEMINI, SHAREGPT
from auditor.formats.simple import (
    CLASSIFICATION,
    INSTRUCTION,
    MAPPED,
    PAIRS,
    PROMPT_COMPLETION,
    TEXT,
    classification_fields,
)

# Order matters: the more specific format comes first and wins a tie in detection.
FORMATS: dict[str, RecordFormat] = {
    f.name: f
    for f in (
        OPENAI_PREFERENCE,
        SHAREGPT_PREFERENCE,
        ALPACA_PREFERENCE,
        PREFERENCE,
        KTO,
        SHAREGPT,
        GEMINI,
        BEDROCK,
        CHAT,
        PROMPT_COMPLETION,
        INSTRUCTION,
        CLASSIFICATION,
        TEXT,
        MAPPED,
    )
}
TASKS = ("classification", "generation", "preference")

__all__ = [
    "CHAT_ROLES",
    "FORMATS",
    "LABEL_FIELDS",
    "PAIRS",
    "TASKS",
    "TEXT_FIELDS",
    "FieldMap",
    "Message",
    "Parsed",
    "RecordError",
    "RecordFormat",
    "classification_fields",
    "detect",
    "first_key",
    "matches",
    "other_format",
]


def matches(name: str, record: Mapping[str, Any], needs_output: bool) -> bool:
    fmt = FORMATS.get(name)
    return bool(fmt and fmt.auto and fmt.detect(record, needs_output))


def detect(records: list[Mapping[str, Any]], needs_output: bool) -> tuple[str, float]:
    """The format most records match (the earlier in `FORMATS` on a tie), with the share that match it."""
    best, best_share = "", 0.0
    for fmt in FORMATS.values():
        if not fmt.auto:
            continue
        share = sum(fmt.detect(r, needs_output) for r in records) / max(len(records), 1)
        if share > best_share:
            best, best_share = fmt.name, share
    return best, best_share


def other_format(name: str, record: Mapping[str, Any], needs_output: bool) -> str | None:
    """The format a record belongs to when it is not `name` (a mixed file), if any."""
    return next(
        (
            f.name
            for f in FORMATS.values()
            if f.name not in (name, "text") and f.auto and f.detect(record, needs_output)
        ),
        None,
    )

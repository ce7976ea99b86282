"""`ftaudit init`: a commented starter config built from the real defaults."""

from __future__ import annotations

import json
from typing import Any

from auditor.config import CONTEXT_KEYS, all_defaults

SECTION_NOTES = {
    "load": "How records are read (data_format: auto or a format of `ftaudit audit --help`; *_field map fields).",
    "embedding": 'Embedding model ("" = bundled all-MiniLM-L6-v2, or a sentence-transformers model path), cache.',
    "neighbours": "The shared neighbour graph: k nearest neighbours, and the similarity above which pairs are kept.",
    "verdict": "The ruling: caps from coverage and inconsistency, context thresholds, checks or codes that block.",
    "gate": "`ftaudit gate`: the weakest decision that passes, and the files it audits when none are given.",
}
CONTEXT_EXAMPLES = {
    "monthly_volume": "250000",
    "requirements_change_within_3_months": "false",
    "prompt_baseline_accuracy": "0.72",
    "target_accuracy": "0.90",
    "consistency_critical": "true",
    "still_experimenting": "false",
    "current_prompt_tokens": "1200",
}


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(round(value, 6))
    return json.dumps(value, ensure_ascii=False)


def starter_config() -> str:
    from auditor.registry import REGISTRY

    out = [
        "# ftaudit configuration. Every key is optional; the values below are the defaults.",
        "# `ftaudit explain CHECK` documents each check's keys. Unknown keys are an error.",
        "",
    ]
    for section, values in all_defaults().items():
        if section == "context":
            continue
        note = SECTION_NOTES.get(section) or (REGISTRY[section].__doc__ or "").strip().splitlines()[0]
        out.append(f"# {note}")
        out.append(f"[{section}]")
        out += [f"{key} = {toml_value(value)}" for key, value in values.items()]
        out.append("")
    out.append("# What the data cannot tell: answer what you know (uncomment); each answer can move the ruling.")
    out.append("[context]")
    out += [f"# {key} = {CONTEXT_EXAMPLES[key]}" for key in CONTEXT_KEYS]
    return "\n".join(out) + "\n"

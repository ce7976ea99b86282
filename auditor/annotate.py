"""Per-row annotations: one record per input row of every file, with the fields checks add."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from auditor.load import Dataset
from auditor.results import CheckResult

ROW_FIELDS = (
    "exact_group",
    "near_group",
    "suspected_label",
    "label_issue_score",
    "nearest_train_line",
    "nearest_train_similarity",
    "covered",
    "cluster",
)


def merged_values(results: Sequence[CheckResult]) -> dict[str, dict[str, Mapping[int, Any]]]:
    merged: dict[str, dict[str, Mapping[int, Any]]] = {}
    for result in results:
        for split, fields in result.row_values.items():
            for name, values in fields.items():
                merged.setdefault(split, {}).setdefault(name, {})
                merged[split][name] = {**merged[split][name], **values}
    return merged


def row_annotations(datasets: Mapping[str, Dataset], results: Sequence[CheckResult]) -> Any:
    """A polars frame: split, line, valid, error, label, every ROW_FIELDS column (null where not computed), the
    row's input text (null for a malformed row), then `file` and `file_line` (the shard of a folder or glob, and the
    row's line there; the file's name and `line` for one file)."""
    import polars as pl

    values = merged_values(results)
    extra = sorted({name for fields in values.values() for name in fields} - set(ROW_FIELDS))
    frames = []
    for split, dataset in datasets.items():
        base = dataset.frame.select("line", "valid", "error", "label")
        lines = base["line"].to_list()
        columns = {
            name: [values.get(split, {}).get(name, {}).get(line) for line in lines] for name in (*ROW_FIELDS, *extra)
        }
        text = {"input": dataset.frame["input"]}  # the row's input (redacted by the audit's redaction chokepoint)
        where = dataset.frame.select("file", "file_line").to_dict()  # the shard and its own line (`line` runs on)
        data = {"split": [split] * len(lines), **base.to_dict(), **columns, **text, **where}
        frames.append(pl.DataFrame(data, strict=False))
    return pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame()


def to_jsonl(frame: Any) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in frame.iter_rows(named=True))

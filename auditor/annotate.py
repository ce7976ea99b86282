"""Per-row annotations: one record per input row of every file, with the fields checks add."""
from __future__ import annotations

import json
from typing import Any, Mapping, Sequence

from auditor.load import Dataset
from auditor.results import CheckResult

ROW_FIELDS = (
    "exact_group", "near_group", "suspected_label", "label_issue_score",
    "nearest_train_line", "nearest_train_similarity", "covered", "cluster",
)


def merged_values(results: Sequence[CheckResult]) -> dict[str, dict[str, Mapping[int, Any]]]:
    merged: dict[str, dict[str, Mapping[int, Any]]] = {}
    for result in results:
        for split, fields in result.row_values.items():
            for name, values in fields.items():
                merged.setdefault(split, {}).setdefault(name, {})
                merged[split][name] = {**merged[split][name], **values}
    return merged


def annotations(datasets: Mapping[str, Dataset], results: Sequence[CheckResult]) -> Any:
    """A polars frame: split, line, valid, error, label, then every ROW_FIELDS column (null where not computed)."""
    import polars as pl

    values = merged_values(results)
    extra = sorted({name for fields in values.values() for name in fields} - set(ROW_FIELDS))
    frames = []
    for split, dataset in datasets.items():
        base = dataset.frame.select("line", "valid", "error", "label")
        lines = base["line"].to_list()
        columns = {name: [values.get(split, {}).get(name, {}).get(line) for line in lines] for name in (*ROW_FIELDS, *extra)}
        frames.append(pl.DataFrame({"split": [split] * len(lines), **base.to_dict(), **columns}, strict=False))
    return pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame()


def to_jsonl(frame: Any) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in frame.iter_rows(named=True))

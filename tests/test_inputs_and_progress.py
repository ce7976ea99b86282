"""`auditor.audit` on in-memory data, the progress line per stage, and every label in the HTML chart."""

from __future__ import annotations

import csv
import io
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from auditor.api import audit
from tests.conftest import SAMPLE, shared_file


def banking(limit: int) -> list[dict[str, str]]:
    with open(shared_file("banking77", "train.csv"), encoding="utf-8") as handle:
        return [{"text": r["text"], "label": r["category"]} for r in csv.DictReader(handle)][:limit]


def bank_intents() -> list[dict[str, str]]:
    """The hand-written 240-row, 10-intent stand-in for Banking77 in sample_data/."""
    with open(SAMPLE / "bank_intents.csv", encoding="utf-8") as handle:
        return [{"text": r["text"], "label": r["intent"]} for r in csv.DictReader(handle)]


def summary(report: Any) -> tuple[Any, ...]:
    dup = report.check("duplicates").metrics
    return (
        report.inputs["train"].format,
        report.inputs["train"].task,
        report.inputs["train"].rows_valid,
        dup["exact_duplicate_rows"],
        dup["near_duplicate_rows"],
        report.check("format").status,
    )


@pytest.mark.parametrize("source", [pytest.param("banking77", marks=pytest.mark.calibration), "sample"])
def test_audit_takes_dicts_and_dataframes_as_a_file(source: str, tmp_path: Path, isolated_config: Path) -> None:
    import json

    import pandas as pd
    import polars as pl

    valid = banking(600) if source == "banking77" else bank_intents()
    rows = valid + [{"text": "where is my card?", "label": None}]
    path = tmp_path / "train.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    only = ["format", "duplicates", "size"]
    expected = summary(audit(path, only=only))
    assert expected[2] == len(valid)
    for data in (rows, pl.DataFrame(rows), pd.DataFrame(rows)):
        report = audit(data, only=only)
        assert summary(report) == expected
        assert report.inputs["train"].path == "<train records>"
        malformed = [f for f in report.check("format").findings if f.rows == (len(valid) + 1,)]
        assert malformed and f"<train records>:{len(valid) + 1}" in malformed[0].message


def test_audit_refuses_what_is_not_data(isolated_config: Path) -> None:
    from auditor.errors import InputError

    with pytest.raises(InputError):
        audit(42)


def test_progress_hook_sees_every_check_start_and_end(isolated_config: Path) -> None:
    from auditor.api import load_inputs, load_options
    from auditor.config import load_config
    from auditor.context import AuditContext
    from auditor.registry import REGISTRY
    from auditor.runner import run_checks

    config = load_config()
    ctx = AuditContext(
        load_inputs(SAMPLE / "broken" / "cheerful_chat.jsonl", None, None, load_options(config)),
        config,
    )
    events: list[tuple[str, bool]] = []
    results = run_checks(
        ctx, REGISTRY, ["format", "size"], lambda stage, result: events.append((stage, result is None))
    )
    assert events == [("format", True), ("format", False), ("size", True), ("size", False)]
    assert [r.id for r in results] == ["format", "size"]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_stage_progress_prints_a_line_per_stage_on_a_terminal_only() -> None:
    from auditor.progress import stage_progress
    from auditor.results import CheckResult

    assert stage_progress(quiet=True, stream=Terminal()) is None
    assert stage_progress(quiet=False, stream=io.StringIO()) is None
    stream = Terminal()
    hook = stage_progress(quiet=False, stream=stream)
    assert hook is not None
    hook("duplicates", None)
    hook("duplicates", CheckResult("duplicates", "warn", "3 near-duplicate rows"))
    assert "✓ duplicates (warn)" in stream.getvalue()


def test_label_chart_shows_every_label_or_says_how_many_are_left_out() -> None:
    from auditor.report.html_report import MAX_LABELS, label_chart

    counts = Counter(r["label"] for r in bank_intents())
    counts.update({f"rare_intent_{i}": 1 + i % 3 for i in range(67)})  # 77 labels, the rarest drawn too
    assert len(counts) == 77
    chart = label_chart(counts)
    assert chart.count("<rect") == 77
    rarest = min(counts, key=lambda k: (counts[k], k))
    assert f">{rarest}<" in chart
    many = {f"intent_{i}": 1000 - i for i in range(MAX_LABELS + 30)}
    chart = label_chart(many)
    assert chart.count("<rect") == MAX_LABELS and "30 more labels with" in chart
    assert f">intent_{MAX_LABELS + 29}<" in chart, "the rarest labels are always drawn"

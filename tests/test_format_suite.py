"""FMT010 guards the loader's own guarantees (unique lines, an input and an output on every valid row, known
roles): no input file can reach it, so it is tested here on frames broken by hand, with both suites."""

from __future__ import annotations

from dataclasses import replace

import polars as pl
import pytest

from auditor.load import load_dataset
from checks.format import DEFAULTS, suite_findings
from tests.conftest import SAMPLE


@pytest.mark.parametrize("use_gx", [True, False])
def test_structural_suite_catches_broken_frames(use_gx: bool) -> None:
    dataset = load_dataset(SAMPLE / "support_train.jsonl", "train")
    frame = dataset.frame.with_columns(
        pl.when(pl.col("line") == 5).then(4).otherwise(pl.col("line")).alias("line"),
        pl.when(pl.col("line") == 9).then(None).otherwise(pl.col("output")).alias("output"),
        pl.when(pl.col("line") == 12).then(pl.lit("user,assistant,narrator")).otherwise(pl.col("roles")).alias("roles"),
    )
    findings = suite_findings(replace(dataset, frame=frame), {**DEFAULTS, "use_great_expectations": use_gx})
    fmt010 = [f for f in findings if f.code == "FMT010"]
    assert sorted({r for f in fmt010 for r in f.rows}) == [4, 9, 12]
    assert all(f.severity == "error" for f in fmt010)


def test_the_loaded_sample_breaks_no_structural_expectation() -> None:
    dataset = load_dataset(SAMPLE / "support_train.jsonl", "train")
    assert not [f for f in suite_findings(dataset, DEFAULTS) if f.code == "FMT010"]

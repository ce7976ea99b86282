from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor.api import audit


@pytest.mark.calibration
def test_banking77_is_strong(banking_train: Path, isolated_config: Path) -> None:
    report = audit(banking_train, only=["size"])
    size = report.check("size")
    assert size.metrics["tier"] == "strong" and report.verdict.size_tier == "strong"
    assert size.metrics["labels"] == 77 and report.inputs["train"].labels == 77
    assert size.metrics["exact_duplicate_rows"] >= 4
    assert size.metrics["usable_examples"] == 10003 - size.metrics["duplicate_rows"]
    assert report.verdict.decision == "fine-tune"
    dropped = next(f for f in size.findings if f.code == "SIZE002").rows
    assert len(dropped) == size.metrics["duplicate_rows"]


@pytest.mark.calibration
def test_exact_only_counting(banking_train: Path, isolated_config: Path) -> None:
    (isolated_config / "ftaudit.toml").write_text("[size]\ncount_near_duplicates = false\n")
    from auditor.embed import Embedder

    embedder = Embedder(cache_dir=None, quiet=True)
    size = audit(banking_train, only=["size"], embedder=embedder).check("size")
    assert embedder.stats.texts == 0, "exact-only counting must not embed anything"
    assert size.metrics["near_duplicate_rows"] == 0 and size.metrics["duplicate_rows"] == size.metrics["exact_duplicate_rows"] >= 4


def test_tiers_and_thin_labels(tmp_path: Path, isolated_config: Path) -> None:
    path = tmp_path / "tickets.jsonl"
    rows = [{"text": f"my parcel {i} has not arrived yet", "label": "tracking"} for i in range(120)]
    rows += [{"text": f"please refund order {i}", "label": "refund"} for i in range(4)]
    rows += [{"text": "My parcel 3 has not arrived yet!", "label": "tracking"}] * 2
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    size = audit(path, only=["size"]).check("size")
    assert size.metrics["usable_examples"] == 124 and size.metrics["exact_duplicate_rows"] == 2
    assert size.metrics["tier"] == "minimum" and size.status == "warn"
    assert size.metrics["label_counts"] == {"tracking": 120, "refund": 4}
    thin = next(f for f in size.findings if f.code == "SIZE003")
    assert thin.data["labels"] == {"refund": 4} and thin.rows == (121, 122, 123, 124)
    assert next(f for f in size.findings if f.code == "SIZE002").rows == (125, 126)


def test_thresholds_come_from_config(tmp_path: Path, isolated_config: Path) -> None:
    path = tmp_path / "qa.jsonl"
    path.write_text("".join(json.dumps({"question": f"what is {i} plus {i}?", "answer": str(2 * i)}) + "\n" for i in range(60)))
    (isolated_config / "ftaudit.toml").write_text("[size]\nminimum_from = 50\n")
    report = audit(path, only=["size"])
    assert report.check("size").metrics["tier"] == "minimum" and report.verdict.decision == "pilot"

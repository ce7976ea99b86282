from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor.api import audit
from tests.conftest import SAMPLE


def intents_with_repeats(folder: Path) -> Path:
    """The hand-written bank intents (240 rows, line 1 the header) with 4 exact repeats and 2 re-typed ones appended."""
    lines = (SAMPLE / "bank_intents.csv").read_text(encoding="utf-8").splitlines()
    extra = [lines[3], lines[40], lines[41], lines[200]]
    text, label = lines[77].rsplit(",", 1)
    extra += [f"{text.upper()},{label}", f"{lines[150].rsplit(',', 1)[0].lower()}  ,{lines[150].rsplit(',', 1)[1]}"]
    path = folder / "intents.csv"
    path.write_text("\n".join(lines + extra) + "\n", encoding="utf-8")
    return path


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


def test_intents_are_strong_with_lower_thresholds(isolated_config: Path) -> None:
    path = intents_with_repeats(isolated_config)
    (isolated_config / "ftaudit.toml").write_text(
        "[size]\nminimum_from = 50\npreferred_from = 120\nstrong_from = 200\n"
    )
    report = audit(path, only=["size"])
    size = report.check("size")
    assert size.metrics["tier"] == "strong" and report.verdict.size_tier == "strong"
    assert size.metrics["labels"] == 10 and report.inputs["train"].labels == 10
    assert size.metrics["exact_duplicate_rows"] == 6, "4 verbatim, 2 differing in case and spacing only"
    assert size.metrics["usable_examples"] == 246 - size.metrics["duplicate_rows"] == 240
    assert report.verdict.decision == "fine-tune"
    dropped = next(f for f in size.findings if f.code == "SIZE002").rows
    assert dropped == (242, 243, 244, 245, 246, 247)


def test_exact_only_counting(isolated_config: Path) -> None:
    path = intents_with_repeats(isolated_config)
    from auditor.embed import Embedder

    embedder = Embedder(cache_dir=None, quiet=True)
    counted = audit(path, only=["size"], embedder=embedder).check("size")
    assert embedder.stats.texts > 0, "near-duplicate counting (the default) embeds the rows"
    (isolated_config / "ftaudit.toml").write_text("[size]\ncount_near_duplicates = false\n")
    embedder = Embedder(cache_dir=None, quiet=True)
    size = audit(path, only=["size"], embedder=embedder).check("size")
    assert embedder.stats.texts == 0, "exact-only counting must not embed anything"
    assert size.metrics["near_duplicate_rows"] == 0
    assert size.metrics["duplicate_rows"] == size.metrics["exact_duplicate_rows"] == 6
    assert counted.metrics["exact_duplicate_rows"] == 6


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
    path.write_text(
        "".join(json.dumps({"question": f"what is {i} plus {i}?", "answer": str(2 * i)}) + "\n" for i in range(60))
    )
    (isolated_config / "ftaudit.toml").write_text("[size]\nminimum_from = 50\n")
    report = audit(path, only=["size"])
    assert report.check("size").metrics["tier"] == "minimum" and report.verdict.decision == "pilot"

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from auditor.api import audit
from tests.conftest import SAMPLE


def findings(report, code: str, split: str = "train") -> list[int]:
    return sorted(r for c in report.checks for f in c.findings if f.code == code and f.split == split for r in f.rows)


def test_support_set_audit_finds_the_planted_flaws(isolated_config: Path) -> None:
    train, prod = SAMPLE / "support_train.jsonl", SAMPLE / "support_production.jsonl"
    before = hashlib.sha256(train.read_bytes()).hexdigest()
    report = audit(train, prod)
    assert report.inputs["train"].rows_read == 201 and report.inputs["production"].rows_valid == 150
    assert findings(report, "FMT007") == [77]
    assert findings(report, "FMT011") == [23, 131]
    assert findings(report, "SIZE002") == [58, 112, 164, 187, 201]
    assert findings(report, "DUP002") == [30, 201]
    conflict = next(f for c in report.checks for f in c.findings if f.code == "DUP001" and 48 in f.rows)
    assert conflict.rows == (48, 164) and conflict.data["outputs_agree"] is False
    assert report.verdict.decision == "pilot" and report.verdict.usable_examples == 195
    assert hashlib.sha256(train.read_bytes()).hexdigest() == before


def test_broken_files_are_audited_not_crashed(isolated_config: Path) -> None:
    malformed = audit(SAMPLE / "broken" / "malformed_lines.jsonl")
    codes = {r: c.code for ch in malformed.checks for c in ch.findings for r in c.rows}
    assert codes == {3: "FMT001", 5: "FMT002", 6: "FMT003", 10: "FMT006", 12: "FMT004", 13: "FMT003"}
    assert malformed.verdict.decision == "blocked"
    bom = audit(SAMPLE / "broken" / "windows_bom.jsonl")
    assert bom.inputs["train"].rows_valid == 6 and not findings(bom, "FMT001")
    assert findings(audit(SAMPLE / "broken" / "latin1.jsonl"), "FMT005") == [3]
    array = audit(SAMPLE / "broken" / "array.json")
    assert array.inputs["train"].format == "prompt_completion" and array.inputs["train"].rows_valid == 6
    empty = audit(SAMPLE / "broken" / "empty.jsonl")
    assert empty.verdict.decision == "blocked" and "no records" in empty.check("format").summary


def test_tickets_csv_labels(isolated_config: Path) -> None:
    report = audit(SAMPLE / "tickets.csv")
    assert report.inputs["train"].task == "classification"
    assert sorted(report.check("size").findings[-1].data["labels"]) == ["REFUND", "Refund", "Tracking"]
    assert json.loads(json.dumps(report.to_dict()))["inputs"]["train"]["labels"] == 8

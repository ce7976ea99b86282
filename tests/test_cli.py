from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, SAMPLE

HEAVY = ("polars", "torch", "sentence_transformers", "sklearn", "great_expectations", "rich", "numpy")


def ftaudit(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "auditor", *args],
        capture_output=True,
        text=True,
        cwd=cwd or ROOT,
        env={
            "PATH": "/usr/bin:/bin",
            "HF_HUB_OFFLINE": "1",
            "PYTHONPATH": str(ROOT),
            "FTAUDIT_CACHE_DIR": os.environ["FTAUDIT_CACHE_DIR"],
        },
    )


def test_help_imports_nothing_heavy() -> None:
    code = (
        "import sys; from auditor.cli import main; import auditor.cli; "
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0 and out.stdout.strip() == ""
    assert "audit" in ftaudit("--help").stdout


def test_flawed_chat_json_names_lines_3_4_5(tmp_path: Path) -> None:
    path = SAMPLE / "broken" / "cheerful_chat.jsonl"
    result = ftaudit("audit", str(path), "--format", "json", "--quiet", "--no-cache", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["schema_version"] == 1
    assert set(report["inputs"]["train"]) >= {"path", "sha256", "format", "task", "rows_read", "rows_valid"}
    assert set(report["verdict"]) >= {"decision", "size_tier", "usable_examples", "reasons", "next_steps"}
    by_code = {f["code"]: f["rows"] for c in report["checks"] for f in c["findings"]}
    assert by_code["FMT011"] == [3] and by_code["FMT004"] == [4] and by_code["FMT012"] == [5]
    statuses = {c["id"]: c["status"] for c in report["checks"]}
    assert statuses["format"] == "fail" and statuses["size"] == "fail" and statuses["duplicates"] == "pass"
    assert statuses.get("coverage", "skipped") == "skipped"
    assert list(tmp_path.iterdir()) == [], "--no-cache and no outputs: nothing written (GX included)"


def test_missing_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = ftaudit("audit", "nope.jsonl", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "nope.jsonl: no such file" in result.stderr
    assert result.stdout == ""


def test_bad_config_key_is_exit_2(tmp_path: Path) -> None:
    (tmp_path / "ftaudit.toml").write_text("[size]\nstrong_form = 2000\n")
    result = ftaudit("audit", str(SAMPLE / "support_train.jsonl"), cwd=tmp_path)
    assert result.returncode == 2 and "size.strong_form" in result.stderr and "Traceback" not in result.stderr


def test_usage_error_is_exit_2() -> None:
    assert ftaudit("audit").returncode == 2
    assert ftaudit("audit", "x.jsonl", "--format", "pdf").returncode == 2


def test_explain_and_checks() -> None:
    explained = ftaudit("explain", "FMT012")
    assert explained.returncode == 0 and "max_output_chars" in explained.stdout and "How to fix" in explained.stdout
    assert ftaudit("explain", "XYZ123").returncode == 2
    listing = ftaudit("checks").stdout
    assert "SIZE001" in listing and "FMT004" in listing


def test_outputs_and_annotations_are_written(tmp_path: Path) -> None:
    prod = tmp_path / "prod.txt"
    prod.write_text("I dropped my phone\nMy cat ignores me\n")
    broken = SAMPLE / "broken" / "malformed_lines.jsonl"  # 6 of its 13 records are malformed (sample_data/README.md)
    result = ftaudit(
        "audit",
        str(broken),
        "--production",
        str(prod),
        "-o",
        "out/report.txt",
        "--annotate",
        "out/rows.jsonl",
        "--quiet",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "Verdict: BLOCKED" in (tmp_path / "out" / "report.txt").read_text()
    rows = [json.loads(line) for line in (tmp_path / "out" / "rows.jsonl").read_text().splitlines()]
    valid = {1, 2, 4, 9, 11, 14, 15}
    assert [(r["split"], r["line"], r["valid"]) for r in rows] == [
        *(("train", line, line in valid) for line in (1, 2, 3, 4, 5, 6, 9, 10, 11, 12, 13, 14, 15)),
        ("production", 1, True),
        ("production", 2, True),
    ]
    contract = {
        "split",
        "line",
        "valid",
        "label",
        "exact_group",
        "near_group",
        "suspected_label",
        "label_issue_score",
        "nearest_train_line",
        "nearest_train_similarity",
        "covered",
        "cluster",
    }
    assert all(contract <= set(r) for r in rows)
    assert [p.name for p in (tmp_path / "out").iterdir() if p.name.startswith(".")] == []

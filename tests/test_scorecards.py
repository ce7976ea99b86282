from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from auditor.api import audit
from auditor.report import html_report, markdown
from tests.conftest import ROOT, SAMPLE

SCHEMA = json.loads((ROOT / "auditor" / "report" / "report.schema.json").read_text())
HOSTILE = '<script>alert("x")</script> | **bold** [link](http://evil) & "quotes"'


@pytest.fixture(scope="module")
def sample_report() -> dict:
    return audit(
        SAMPLE / "support_train.jsonl",
        SAMPLE / "support_production.jsonl",
        overrides={"context": {"monthly_volume": 250_000}},
    ).to_dict()


@pytest.fixture(scope="module")
def hostile_report(tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("hostile")
    rows = [{"text": f"{HOSTILE} case {i}", "label": "<b>spam</b>" if i % 2 else "ham & eggs"} for i in range(40)]
    rows.append(dict(rows[0]))
    path = folder / "hostile<x>.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + "{not json\n")
    return audit(path).to_dict()


def test_reports_validate_against_the_schema(sample_report: dict, hostile_report: dict) -> None:
    for report in (sample_report, hostile_report, audit(SAMPLE / "broken" / "malformed_lines.jsonl").to_dict()):
        jsonschema.validate(report, SCHEMA)


def test_schema_rejects_a_broken_report(sample_report: dict) -> None:
    broken = json.loads(json.dumps(sample_report))
    broken["verdict"]["decision"] = "maybe"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, SCHEMA)


def test_markdown_scorecard_content(sample_report: dict) -> None:
    text = markdown.render(sample_report)
    verdict = sample_report["verdict"]
    assert text.startswith("# Fine-tuning readiness:")
    assert f"**{verdict['decision']}**" in text and f"{verdict['readiness_score']}/100" in text
    assert "| **minimum** |" in text or f"**{verdict['size_tier']}**" in text
    assert "## What would change it" in text and "## Provenance" in text
    assert sample_report["inputs"]["train"]["sha256"][:16] in text
    assert "monthly_volume=250000" in text
    assert "| FMT007 | error | train | 77 |" in text


def test_markdown_neutralises_dataset_text(hostile_report: dict) -> None:
    text = markdown.render(hostile_report)
    assert "<script>" not in text and "\\<script\\>" in text


def test_html_is_self_contained_and_escaped(sample_report: dict, hostile_report: dict) -> None:
    page = html_report.render(sample_report)
    assert page.startswith("<!DOCTYPE html>") and "<svg" in page
    for needle in ("http://", "https://", "<script", "<link", "@import"):
        assert needle not in page.split("</style>", 1)[1] if needle == "@import" else needle not in page
    hostile = html_report.render(hostile_report)
    assert "<script>" not in hostile and "&lt;script&gt;" in hostile
    assert "&lt;b&gt;spam&lt;/b&gt;" in hostile and "hostile&lt;x&gt;.jsonl" in hostile


def test_cli_writes_each_format(tmp_path: Path, isolated_config: Path) -> None:
    from click.testing import CliRunner

    from auditor.cli import main

    for fmt, marker in (
        ("markdown", "# Fine-tuning readiness"),
        ("html", "<!DOCTYPE html>"),
        ("json", '"schema_version": 1'),
    ):
        out = tmp_path / f"card.{fmt}"
        result = CliRunner().invoke(
            main, ["audit", str(SAMPLE / "support_train.jsonl"), "--format", fmt, "-o", str(out), "-q"]
        )
        assert result.exit_code == 0, result.output
        assert out.read_text().lstrip().startswith(marker) or marker in out.read_text()


def test_quoted_dataset_text_is_redacted_everywhere(tmp_path: Path, isolated_config: Path) -> None:
    secret, email = "sk-proj-4f9Qx2LmZ8rT7vW1yB3nK6pD0sJ5hG", "jane.doe@gmail.com"
    rows = [{"text": f"my key is {secret} and mail {email} please", "label": "account"}] * 2
    rows += [{"text": f"question number {i} about parcels", "label": "tracking"} for i in range(30)]
    path = tmp_path / "leaky.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    report = audit(path).to_dict()
    dump = json.dumps(report) + markdown.render(report) + html_report.render(report)
    assert secret not in dump and email not in dump
    assert any(f["code"] == "DUP001" for c in report["checks"] for f in c["findings"])


def test_render_command_reads_a_saved_report(sample_report: dict, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from auditor.cli import main

    saved = tmp_path / "report.json"
    saved.write_text(json.dumps(sample_report))
    result = CliRunner().invoke(main, ["render", str(saved), "--format", "markdown"])
    assert result.exit_code == 0 and result.output == markdown.render(sample_report)
    (tmp_path / "bad.json").write_text("[1, 2]")
    assert CliRunner().invoke(main, ["render", str(tmp_path / "bad.json")]).exit_code == 2

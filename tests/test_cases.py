"""The per-code cases in tests/cases/*.yaml, run through `auditor.api.audit` (format: tests/cases/README.md)."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

import auditor.api
from auditor.config import load_config
from auditor.registry import REGISTRY, all_codes

ROOT = Path(__file__).resolve().parents[1]
CASES = ROOT / "tests" / "cases"
SPLITS = ("train", "production", "eval")
CASE_KEYS = {"name", "checks", "config", "expect", "expect_absent", "status", "skip", *SPLITS}
SYLLABLES = ("ba", "ke", "di", "mo", "su", "ly")  # no two share a letter: words differ by 2+ edits


def load_files() -> list[tuple[str, dict[str, Any]]]:
    files = []
    for path in sorted(CASES.glob("*.y*ml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert isinstance(data, dict) and isinstance(data.get("cases"), list), f"{path.name}: needs a 'cases' list"
        files.append((path.name, data))
    return files


def all_cases() -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    return [(name, data, case) for name, data in load_files() for case in data["cases"]]


def word(i: int) -> str:
    """A made-up six-letter word per number below 216 (three base-6 syllables): two words differ by at
    least two letters, so no pair reads as a typo of the other."""
    assert 0 <= i < 216, "{w} covers 0..215"
    out = ""
    for _ in range(3):
        i, digit = divmod(i, 6)
        out = SYLLABLES[digit] + out
    return out


def fill(value: Any, i: int) -> Any:
    if isinstance(value, str):
        return value.replace("{i}", str(i)).replace("{w}", word(i)).replace("{v}", word((i * 97 + 53) % 216))
    if isinstance(value, list):
        return [fill(v, i) for v in value]
    if isinstance(value, dict):
        return {fill(k, i): fill(v, i) for k, v in value.items()}
    return value


def write_split(spec: Any, split: str, folder: Path) -> Path:
    if isinstance(spec, list):
        spec = {"records": spec}
    elif isinstance(spec, str):
        spec = {"text": spec}
    assert isinstance(spec, dict), f"{split}: a list of records, a text or a mapping"
    unknown = set(spec) - {"records", "text", "path", "base", "replace", "drop", "generate", "name", "encoding"}
    assert not unknown, f"{split}: unknown keys {sorted(unknown)}"
    if "path" in spec:
        return ROOT / spec["path"]
    base = ROOT / spec["base"] if "base" in spec else None
    path = folder / spec.get("name", base.name if base else f"{split}.jsonl")
    if "text" in spec:
        assert not {"records", "generate", "base"} & set(spec), f"{split}: text excludes records, generate and base"
        path.write_bytes(spec["text"].encode(spec.get("encoding", "utf-8")))
        return path
    lines = base.read_text(encoding="utf-8").rstrip("\n").split("\n") if base else []
    for line, text in (spec.get("replace") or {}).items():
        assert 1 <= line <= len(lines), f"{split}: replace line {line} is not in {spec['base']}"
        lines[line - 1] = text if isinstance(text, str) else json.dumps(text, ensure_ascii=False)
    for line in spec.get("drop") or []:
        assert 1 <= line <= len(lines), f"{split}: drop line {line} is not in {spec['base']}"
        lines[line - 1] = ""  # a blank line: skipped by every reader, so the other lines keep their numbers
    lines += [json.dumps(r, ensure_ascii=False) for r in spec.get("records", [])]
    for block in spec.get("generate", []):
        start = block.get("start", 1)
        lines += [
            json.dumps(fill(block["template"], i), ensure_ascii=False) for i in range(start, start + block["count"])
        ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def case_checks(data: dict[str, Any], case: dict[str, Any]) -> list[str] | None:
    wanted = case.get("checks", data.get("check"))
    if wanted in (None, "all"):
        return None
    return [wanted] if isinstance(wanted, str) else list(wanted)


def check_expectation(code: str, want: Any, findings: list[dict[str, Any]]) -> None:
    mine = [f for f in findings if f["code"] == code]
    assert mine, f"expected {code}, got {sorted({f['code'] for f in findings})}"
    if want is None:
        return
    if isinstance(want, list):
        got = sorted({r for f in mine for r in f["rows"]})
        assert got == sorted(want), f"{code} rows {got}, expected {sorted(want)}"
        return
    assert isinstance(want, dict), f"{code}: a row list, ~ or a mapping"
    if "split" in want:
        assert {f["split"] for f in mine} == {want["split"]}, f"{code} splits {[f['split'] for f in mine]}"
    if "count" in want:
        assert len(mine) == want["count"], f"{code}: {len(mine)} findings, expected {want['count']}"
    rows = {r for f in mine for r in f["rows"]}
    if "rows" in want:
        assert sorted(rows) == sorted(want["rows"]), f"{code} rows {sorted(rows)}, expected {sorted(want['rows'])}"
    if "includes" in want:
        missing = set(want["includes"]) - rows
        assert not missing, f"{code} rows {sorted(rows)} lack {sorted(missing)}"


@pytest.fixture(scope="session")
def embedder() -> Any:
    """One embedder for every case, so the model is loaded once."""
    from auditor.embed import Embedder

    section = load_config(cwd=Path("/")).section("embedding")
    return Embedder("", Path(section["cache_dir"]), section["batch_size"], quiet=True, backend=section["backend"])


@pytest.mark.parametrize("file,data,case", all_cases(), ids=[f"{f}::{c.get('name')}" for f, _, c in all_cases()])
def test_case(file: str, data: dict[str, Any], case: dict[str, Any], tmp_path: Path, embedder: Any) -> None:
    unknown = set(case) - CASE_KEYS
    assert not unknown, f"unknown case keys {sorted(unknown)}"
    if case.get("skip"):
        pytest.skip(case["skip"])
    assert "train" in case, "a case needs a train split"
    paths = {split: write_split(case[split], split, tmp_path) for split in SPLITS if split in case}
    config = load_config(cwd=tmp_path, overrides=case.get("config"))
    report = auditor.api.audit(
        paths["train"],
        paths.get("production"),
        paths.get("eval"),
        config=config,
        only=case_checks(data, case),
        embedder=embedder,
    )
    results = report.to_dict()["checks"]
    findings = [f for check in results for f in check["findings"]]
    crashed = [f"{c['id']}: {c['summary']}" for c in results if c["status"] == "error"]
    assert not crashed, f"checks crashed: {crashed}"
    for code, want in (case.get("expect") or {}).items():
        check_expectation(code, want, findings)
    present = {f["code"] for f in findings}
    for code in case.get("expect_absent") or []:
        assert code not in present, f"{code} found: {[f for f in findings if f['code'] == code]}"
    for check_id, status in (case.get("status") or {}).items():
        got = {c["id"]: c["status"] for c in results}.get(check_id)
        assert got == status, f"{check_id} status {got}, expected {status}"


def test_cases_are_well_formed() -> None:
    codes = all_codes()
    for file, data, case in all_cases():
        where = f"{file}::{case.get('name')}"
        assert case.get("name"), f"{file}: a case without a name"
        named = [*(case.get("expect") or {}), *(case.get("expect_absent") or [])]
        assert named or case.get("status"), f"{where}: expects nothing"
        for code in named:
            assert code in codes, f"{where}: unknown code {code}"
        for check_id in case_checks(data, case) or []:
            assert check_id in REGISTRY, f"{where}: unknown check {check_id}"
    names = [f"{file}::{case.get('name')}" for file, _, case in all_cases()]
    assert len(names) == len(set(names)), "case names repeat within a file"


# Codes no input file can reach (they guard the loader's own guarantees), with the test that fails them.
UNREACHABLE_FROM_FILES = {"FMT010": "tests.test_format_suite::test_structural_suite_catches_broken_frames"}


def test_every_code_has_a_failing_and_a_passing_case() -> None:
    failing: set[str] = set()
    passing: set[str] = set()
    for _, _, case in all_cases():
        if case.get("skip"):
            continue
        failing.update(case.get("expect") or {})
        passing.update(case.get("expect_absent") or [])
    codes = set(all_codes())
    for code, test in UNREACHABLE_FROM_FILES.items():  # failing case on a hand-broken frame instead
        module, name = test.split("::")
        assert hasattr(importlib.import_module(module), name), f"{code}: {test} is missing"
        failing.add(code)
    assert not codes - failing, f"codes without a failing case: {sorted(codes - failing)}"
    assert not codes - passing, f"codes without a passing case: {sorted(codes - passing)}"


def test_generated_words_are_not_typos_of_each_other() -> None:
    words = [word(i) for i in range(216)]
    assert {len(w) for w in words} == {6}
    closest = min(sum(x != y for x, y in zip(a, b)) for k, a in enumerate(words) for b in words[k + 1 :])
    assert closest >= 2

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from auditor.cli import main
from tests.conftest import ROOT, SAMPLE

GOOD = SAMPLE / "support_train.jsonl"
BAD = SAMPLE / "broken" / "malformed_lines.jsonl"


def run_cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_gate_passes_good_and_fails_bad(isolated_config: Path) -> None:
    code, out = run_cli("gate", str(GOOD), "-q")
    assert code == 0 and out.startswith("PASS") and "pilot" in out
    code, out = run_cli("gate", str(GOOD), str(BAD), "-q")
    assert code == 1
    assert "FAIL" in out and "malformed_lines.jsonl: blocked" in out and "46% > 10% allowed" in out


def test_gate_policy_from_config(isolated_config: Path) -> None:
    (isolated_config / "ftaudit.toml").write_text(f'[gate]\nmin_decision = "fine-tune"\ntrain = ["{GOOD}"]\n')
    code, out = run_cli("gate", "-q")
    assert code == 1 and "gate needs fine-tune or better" in out and "size:" in out
    (isolated_config / "ftaudit.toml").write_text('[gate]\nmin_decision = "maybe"\n')
    assert run_cli("gate", str(GOOD), "-q")[0] == 2


def test_gate_usage_errors(isolated_config: Path) -> None:
    assert run_cli("gate", "-q")[0] == 2
    assert run_cli("gate", "missing.jsonl", "-q")[0] == 2
    assert run_cli("gate", str(GOOD), "--context", "monthly_volume=lots")[0] == 2
    assert run_cli("gate", str(GOOD), "--context", "colour=blue")[0] == 2


def test_context_moves_the_ruling(isolated_config: Path) -> None:
    code, out = run_cli("gate", str(GOOD), "-q", "--context", "requirements_change_within_3_months=yes")
    assert code == 1 and "requirements change within 3 months" in out


def test_init_writes_a_config_that_loads(isolated_config: Path) -> None:
    code, out = run_cli("init")
    assert code == 0 and (isolated_config / "ftaudit.toml").is_file()
    data = tomllib.loads((isolated_config / "ftaudit.toml").read_text())
    assert data["size"]["preferred_from"] == 500 and data["gate"]["min_decision"] == "pilot"
    assert run_cli("init")[0] == 2
    from auditor.config import load_config

    assert load_config().source.endswith("ftaudit.toml")


def test_hooks_file_declares_the_hook() -> None:
    text = (ROOT / ".pre-commit-hooks.yaml").read_text()
    assert "id: ftaudit" in text and "entry: ftaudit gate" in text and r"files: \.jsonl$" in text


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_pre_commit_blocks_a_bad_dataset_and_passes_a_good_one(tmp_path: Path) -> None:
    pre_commit = Path(sys.executable).with_name("pre-commit")
    ftaudit = Path(sys.executable).with_name("ftaudit")
    repo = tmp_path / "repo"
    repo.mkdir()
    env = {
        **os.environ,
        "PRE_COMMIT_HOME": str(tmp_path / "pc-home"),
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
    }

    def sh(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(list(args), cwd=repo, env=env, capture_output=True, text=True)

    sh("git", "init", "-q")
    (repo / ".pre-commit-config.yaml").write_text(
        "repos:\n- repo: local\n  hooks:\n  - id: ftaudit\n    name: ftaudit data gate\n"
        f"    entry: {ftaudit} gate --quiet\n    language: system\n    files: \\.jsonl$\n    require_serial: true\n"
    )
    assert sh(str(pre_commit), "install").returncode == 0
    (repo / "data").mkdir()
    shutil.copy(BAD, repo / "data" / "train.jsonl")
    sh("git", "add", ".")
    blocked = sh("git", "commit", "-qm", "bad data")
    assert blocked.returncode != 0, blocked.stdout + blocked.stderr
    assert "FAIL data/train.jsonl: blocked" in blocked.stdout + blocked.stderr
    shutil.copy(GOOD, repo / "data" / "train.jsonl")
    sh("git", "add", ".")
    passed = sh("git", "commit", "-qm", "good data")
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert sh("git", "log", "--oneline").stdout.count("\n") == 1


GATE_SCRIPT = """
import sys
from auditor.cli import main
try:
    main(["gate", sys.argv[1], "-q"])
except SystemExit as exc:
    print("exit", exc.code)
print("numpy imported" if "numpy" in sys.modules else "numpy not imported")
"""


def gate_process(train: Path) -> list[str]:
    """The gate in a fresh process, on a frozen copy of the code (its key covers the code, which may be edited)."""
    code = train.parent / "code"
    if not code.exists():
        for package in ("auditor", "checks"):
            shutil.copytree(ROOT / package, code / package, ignore=shutil.ignore_patterns("__pycache__"))
    result = subprocess.run(
        [sys.executable, "-c", GATE_SCRIPT, str(train)],
        cwd=train.parent,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(code)},
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()


def test_gate_answers_an_unchanged_file_from_its_result_cache(tmp_path: Path) -> None:
    train = tmp_path / "train.jsonl"
    extra = (
        '{"messages": [{"role": "user", "content": "Where is parcel '
        f'{tmp_path.name}?"}}, {{"role": "assistant", "content": "It left the depot today."}}]}}\n'
    )
    train.write_text(GOOD.read_text(encoding="utf-8") + extra, encoding="utf-8")
    first = gate_process(train)
    assert first[0].startswith(f"PASS {train}") and first[-2:] == ["exit 0", "numpy imported"]
    assert gate_process(train) == first[:-1] + ["numpy not imported"]
    folder = Path(os.environ["FTAUDIT_CACHE_DIR"]) / "gate"
    entries = [p for p in folder.glob("*.json") if str(train) in p.read_text(encoding="utf-8")]
    assert len(entries) == 1
    entries[0].write_text('{"version": 1, "key": "', encoding="utf-8")  # a torn write
    assert gate_process(train) == first
    assert gate_process(train)[-1] == "numpy not imported"  # the damaged entry was redone
    with open(train, "a", encoding="utf-8") as handle:
        handle.write(
            '{"messages": [{"role": "user", "content": "Can I change the delivery address?"}, '
            '{"role": "assistant", "content": "Yes, until the parcel is dispatched."}]}\n'
        )
    changed = gate_process(train)
    assert changed[-1] == "numpy imported" and changed[0] != first[0]


def test_gate_result_cache_ignores_foreign_and_mismatching_entries(tmp_path: Path) -> None:
    from auditor.gate import ResultCache

    cache = ResultCache(tmp_path / "gate")
    cache.put("k1", "PASS x", True)
    assert cache.get("k1") == ("PASS x", True)
    (tmp_path / "gate" / "k2.json").write_text((tmp_path / "gate" / "k1.json").read_text())
    (tmp_path / "gate" / "k3.json").write_text('["PASS", true]')
    (tmp_path / "gate" / "k4.json").write_bytes(b"\xff\xfe")
    assert cache.get("k2") is None and cache.get("k3") is None and cache.get("k4") is None and cache.get("k5") is None
    assert ResultCache(None).get("k1") is None

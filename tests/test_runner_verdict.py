from __future__ import annotations

import types
from pathlib import Path

from auditor.config import load_config
from auditor.context import AuditContext
from auditor.load import load_dataset
from auditor.registry import REGISTRY
from auditor.results import CheckResult, Finding
from auditor.runner import run_checks
from auditor.verdict import decide


def size_result(usable: int, tier: str, duplicates: int = 0) -> CheckResult:
    thresholds = {"minimum_from": 100, "preferred_from": 500, "strong_from": 1000}
    return CheckResult("size", "pass", "", {"usable_examples": usable, "tier": tier, "thresholds": thresholds,
                                            "duplicate_rows": duplicates})


def format_result(status: str = "pass", bad_rows: tuple[int, ...] = ()) -> CheckResult:
    findings = (Finding("FMT001", "error", "x.jsonl: invalid JSON", bad_rows),) if bad_rows else ()
    return CheckResult("format", status, "1 of 5 rows malformed", {"train": {"rows_valid": 4}}, findings)


def test_tiers_map_to_decisions() -> None:
    assert decide([format_result(), size_result(40, "insufficient")]).decision == "keep-prompting"
    assert decide([format_result(), size_result(250, "minimum")]).decision == "pilot"
    assert decide([format_result(), size_result(700, "preferred")]).decision == "fine-tune"
    strong = decide([format_result(), size_result(5000, "strong", duplicates=12)])
    assert strong.decision == "fine-tune" and strong.usable_examples == 5000
    assert "12 duplicate row" in strong.reasons[0]


def test_reasons_and_next_steps_carry_numbers() -> None:
    verdict = decide([format_result(bad_rows=(7, 9)), size_result(250, "minimum")])
    assert any("250 usable" in r for r in verdict.reasons)
    assert any("250 more" in s for s in verdict.next_steps)
    assert any("7, 9" in s for s in verdict.next_steps)


def test_failed_format_blocks() -> None:
    verdict = decide([format_result("fail", (3,)), size_result(4, "insufficient")])
    assert verdict.decision == "blocked" and "3" in verdict.next_steps[0]


def test_crashed_size_check_blocks_with_reason() -> None:
    verdict = decide([format_result(), CheckResult("size", "error", "check crashed: KeyError: 'x'")])
    assert verdict.decision == "blocked" and "KeyError" in verdict.reasons[0]


def test_crashing_check_becomes_error_result(toy_chat: Path, isolated_config: Path) -> None:
    def boom(ctx, config):
        raise ZeroDivisionError("bad maths")

    crashing = types.ModuleType("checks.crashing")
    crashing.ID, crashing.FAMILY, crashing.CODES, crashing.DEFAULTS, crashing.run = "crashing", "CRS", {}, {}, boom
    ctx = AuditContext({"train": load_dataset(toy_chat, "train")}, load_config())
    registry = {"crashing": crashing, "size": REGISTRY["size"]}
    results = run_checks(ctx, registry)
    assert [r.status for r in results] == ["error", "fail"]
    assert "ZeroDivisionError: bad maths" in results[0].summary
    assert results[0].metrics["where"].endswith(".py:" + str(boom.__code__.co_firstlineno + 1))

from __future__ import annotations

import types
from pathlib import Path

from auditor.config import load_config
from auditor.context import AuditContext
from auditor.load import load_dataset
from auditor.registry import REGISTRY
from auditor.runner import run_checks
from tests.conftest import SAMPLE


def test_crashing_check_becomes_error_result(isolated_config: Path) -> None:
    def boom(ctx, config):
        raise ZeroDivisionError("bad maths")

    crashing = types.ModuleType("checks.crashing")
    crashing.ID, crashing.FAMILY, crashing.CODES, crashing.DEFAULTS, crashing.run = "crashing", "CRS", {}, {}, boom
    ctx = AuditContext({"train": load_dataset(SAMPLE / "broken" / "malformed_lines.jsonl", "train")}, load_config())
    registry = {"crashing": crashing, "size": REGISTRY["size"]}
    results = run_checks(ctx, registry)
    assert [r.status for r in results] == ["error", "fail"]
    assert "ZeroDivisionError: bad maths" in results[0].summary
    assert results[0].metrics["where"].endswith(".py:" + str(boom.__code__.co_firstlineno + 1))

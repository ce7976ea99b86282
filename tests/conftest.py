from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
SAMPLE = ROOT / "sample_data"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("FTAUDIT_CACHE_DIR", str(ROOT / ".ftaudit-cache"))


def shared_file(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real dataset {path} is absent (../shared/data is not beside this checkout)")
    return path


@pytest.fixture
def toy_chat() -> Path:
    return shared_file("openai_cookbook", "toy_chat_fine_tuning.jsonl")


@pytest.fixture
def banking_train() -> Path:
    return shared_file("banking77", "train.csv")


@pytest.fixture
def isolated_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run from an empty folder so no ftaudit.toml or pyproject.toml of the repo is picked up."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def pytest_configure(config: pytest.Config) -> None:
    """Every report any test produces through auditor.api.audit is validated against the JSON Schema."""
    import json

    import jsonschema

    import auditor.api

    schema = json.loads((ROOT / "auditor" / "report" / "report.schema.json").read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    original = auditor.api.audit

    def validated_audit(*args, **kwargs):
        report = original(*args, **kwargs)
        validator.validate(json.loads(json.dumps(report.to_dict())))
        return report

    auditor.api.audit = validated_audit

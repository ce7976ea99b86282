from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.modules.setdefault("tests.conftest", sys.modules[__name__])  # `from tests.conftest import …` gets this module

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
SAMPLE = ROOT / "sample_data"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("FTAUDIT_CACHE_DIR", str(ROOT / ".ftaudit-cache"))


_current: list[pytest.Item] = []
_not_run: list[str] = []


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without ../shared/data the `calibration` tests (real datasets) are skipped, each with the reason."""
    if SHARED.is_dir():
        return
    reason = f"calibration test: real dataset folder {SHARED} is absent (../shared/data is not beside this checkout)"
    for item in items:
        if item.get_closest_marker("calibration"):
            item.add_marker(pytest.mark.skip(reason=reason))
            _not_run.append(item.nodeid)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _not_run:
        terminalreporter.write_line(
            f"{len(_not_run)} calibration tests skipped: {SHARED} is absent "
            "(each reads a real dataset: put the data beside this checkout to run them)"
        )


@pytest.fixture(autouse=True)
def _current_test(request: pytest.FixtureRequest):
    """Lets `shared_file` see which test asks for real data."""
    _current.append(request.node)
    yield
    _current.pop()


def shared_file(*parts: str) -> Path:
    """A real dataset under ../shared/data; only tests marked `calibration` may read one (they skip without it)."""
    if _current and _current[-1].get_closest_marker("calibration") is None:
        pytest.fail(f"{_current[-1].nodeid} reads ../shared/data but is not marked @pytest.mark.calibration")
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real dataset {path} is absent (../shared/data is not beside this checkout)")
    return path


@pytest.fixture(scope="session", autouse=True)
def shared_onnx_export() -> Path:
    """One ONNX export for the whole suite (and its subprocesses): made on first use, kept between runs."""
    folder = Path(os.environ.setdefault("FTAUDIT_ONNX_DIR", str(ROOT / ".ftaudit-cache" / "onnx")))
    return folder


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

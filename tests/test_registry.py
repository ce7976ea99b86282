from __future__ import annotations

import pkgutil
import re

import checks
from auditor.registry import REGISTRY, all_codes, find_doc


def test_every_check_module_is_registered() -> None:
    modules = {m.name for m in pkgutil.iter_modules(checks.__path__)}
    registered = {check.__name__.rsplit(".", 1)[-1] for check in REGISTRY.values()}
    assert modules == registered


def test_codes_are_unique_and_in_their_family() -> None:
    seen: dict[str, str] = {}
    for check_id, check in REGISTRY.items():
        assert check.ID == check_id
        for code in check.CODES:
            assert re.fullmatch(rf"{check.FAMILY}\d{{3}}", code), code
            assert code not in seen, f"{code} in {check_id} and {seen.get(code)}"
            seen[code] = check_id
    assert len(all_codes()) == len(seen)


def test_docstrings_are_user_docs() -> None:
    for check in REGISTRY.values():
        doc = check.__doc__ or ""
        for heading in ("What it checks", "Why it matters", "Failing example", "How to fix", "Config", "Codes"):
            assert heading in doc, f"{check.ID} doc lacks '{heading}'"
        for key in check.DEFAULTS:
            assert key in doc, f"{check.ID} doc does not document config key '{key}'"
        for code in check.CODES:
            assert code in doc, f"{check.ID} doc does not mention {code}"


def test_find_doc_by_id_family_and_code() -> None:
    assert find_doc("size")[0].startswith("size")
    assert find_doc("fmt")[0].startswith("format")
    heading, text = find_doc("SIZE002")
    assert "SIZE002" in heading and "Usable examples" in text
    assert find_doc("NOPE999") is None


def test_a_shared_family_explains_every_check_in_it() -> None:
    heading, text = find_doc("LBL")
    assert heading == "labels (LBL), outputs (LBL)" and "LBL001" in text and "LBL006" in text
    assert find_doc("LBL006")[0].endswith("check 'outputs'") and find_doc("LBL001")[0].endswith("check 'labels'")


def test_every_module_imports_alone_in_a_fresh_interpreter() -> None:
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    modules = sorted(
        ".".join(p.relative_to(root).with_suffix("").parts)
        for folder in ("auditor", "checks")
        for p in (root / folder).rglob("*.py")
        if p.name != "__main__.py"
    )
    script = "import importlib, sys\nfor m in sys.argv[1:]:\n    importlib.import_module(m)\n"
    for module in modules:
        done = subprocess.run([sys.executable, "-c", script, module], cwd=root, capture_output=True, text=True)
        assert done.returncode == 0, f"import {module} alone fails: {done.stderr.strip().splitlines()[-1:]}"

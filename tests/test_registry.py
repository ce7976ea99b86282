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
    families = set()
    for check_id, check in REGISTRY.items():
        assert check.ID == check_id
        assert check.FAMILY not in families
        families.add(check.FAMILY)
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

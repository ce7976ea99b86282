"""The explicit list of checks, in the order they run; one module per check in `checks/`."""
from __future__ import annotations

from types import ModuleType
from typing import Any, Mapping, Protocol

from checks import coverage as coverage_check
from checks import duplicates as duplicates_check
from checks import format as format_check
from checks import labels as labels_check
from checks import sensitive as sensitive_check
from checks import size as size_check
from checks import tokens as tokens_check


class Check(Protocol):
    """What every module in `checks/` provides (its docstring is its user documentation)."""

    ID: str
    FAMILY: str
    CODES: Mapping[str, str]
    DEFAULTS: Mapping[str, Any]

    def run(self, ctx: Any, config: Mapping[str, Any]) -> Any: ...


REGISTRY: dict[str, ModuleType] = {
    format_check.ID: format_check,
    duplicates_check.ID: duplicates_check,
    size_check.ID: size_check,
    labels_check.ID: labels_check,
    coverage_check.ID: coverage_check,
    tokens_check.ID: tokens_check,
    sensitive_check.ID: sensitive_check,
}


def all_codes() -> dict[str, tuple[str, str]]:
    """Every finding code: code -> (check id, title)."""
    return {code: (check.ID, title) for check in REGISTRY.values() for code, title in check.CODES.items()}


def find_doc(name: str) -> tuple[str, str] | None:
    """A check's documentation by check id, code family or finding code: (heading, text)."""
    key = name.strip()
    for check in REGISTRY.values():
        if key.lower() == check.ID or key.upper() == check.FAMILY:
            return f"{check.ID} ({check.FAMILY})", (check.__doc__ or "").strip()
    codes = all_codes()
    if key.upper() in codes:
        check_id, title = codes[key.upper()]
        return f"{key.upper()}: {title} — check '{check_id}'", (REGISTRY[check_id].__doc__ or "").strip()
    return None

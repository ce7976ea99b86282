"""The explicit list of checks, in the order they run; one module per check in `checks/`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from checks import coverage as coverage_check
from checks import duplicates as duplicates_check
from checks import format as format_check
from checks import labels as labels_check
from checks import outputs as outputs_check
from checks import preference as preference_check
from checks import provider as provider_check
from checks import sensitive as sensitive_check
from checks import size as size_check
from checks import tokens as tokens_check
from checks import tools as tools_check

if TYPE_CHECKING:
    from auditor.context import AuditContext
    from auditor.results import CheckResult


class Check(Protocol):
    """What every module in `checks/` provides (its docstring is its user documentation).

    `run` returns a `CheckResult`; a check whose outcome moves the ruling sets typed evidence on it
    (`auditor.evidence`). Thresholds live in `DEFAULTS` (the `[ID]` config section)."""

    __doc__: str | None

    @property
    def ID(self) -> str: ...  # noqa: N802 - module constants seen through the protocol

    @property
    def FAMILY(self) -> str: ...  # noqa: N802

    @property
    def CODES(self) -> Mapping[str, str]: ...  # noqa: N802

    @property
    def DEFAULTS(self) -> Mapping[str, Any]: ...  # noqa: N802

    def run(self, ctx: AuditContext, config: Mapping[str, Any]) -> CheckResult: ...


@runtime_checkable
class Redactor(Protocol):
    """Optional hook: a check that can mask the sensitive data it detects in any text."""

    def redact_text(self, text: str, config: Mapping[str, Any]) -> str: ...


def by_id(*checks: Check) -> dict[str, Check]:
    """The registry, in run order (each module is type-checked against the `Check` protocol here)."""
    return {check.ID: check for check in checks}


REGISTRY: dict[str, Check] = by_id(
    format_check,
    provider_check,
    tools_check,
    duplicates_check,
    size_check,
    labels_check,
    outputs_check,
    preference_check,
    coverage_check,
    tokens_check,
    sensitive_check,
)


def redactors() -> list[tuple[str, Redactor]]:
    """Checks providing the optional `redact_text` hook, with their ids (their config section)."""
    return [(check_id, check) for check_id, check in REGISTRY.items() if isinstance(check, Redactor)]


def all_codes() -> dict[str, tuple[str, str]]:
    """Every finding code: code -> (check id, title)."""
    return {code: (check.ID, title) for check in REGISTRY.values() for code, title in check.CODES.items()}


def find_doc(name: str) -> tuple[str, str] | None:
    """A check's documentation by check id, code family or finding code: (heading, text)."""
    key = name.strip()
    for check in REGISTRY.values():
        if key.lower() == check.ID:
            return f"{check.ID} ({check.FAMILY})", (check.__doc__ or "").strip()
    family = [check for check in REGISTRY.values() if key.upper() == check.FAMILY]
    if family:
        heading = ", ".join(f"{check.ID} ({check.FAMILY})" for check in family)
        return heading, "\n\n".join((check.__doc__ or "").strip() for check in family)
    codes = all_codes()
    if key.upper() in codes:
        check_id, title = codes[key.upper()]
        return f"{key.upper()}: {title} — check '{check_id}'", (REGISTRY[check_id].__doc__ or "").strip()
    return None

"""Run the registered checks; a check that raises becomes an `error` result, never a lost report."""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING

from auditor.errors import InputError
from auditor.results import CheckResult

if TYPE_CHECKING:
    from auditor.context import AuditContext
    from auditor.registry import Check


def run_check(check: Check, ctx: AuditContext) -> CheckResult:
    started = time.perf_counter()
    try:
        result = check.run(ctx, ctx.config.section(check.ID))
    except (InputError, MemoryError):
        raise
    except Exception as exc:  # isolation is the point: any crash becomes a result
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        where = f"{frame.filename.rsplit('/', 2)[-2]}/{frame.filename.rsplit('/', 1)[-1]}:{frame.lineno}"
        result = CheckResult(
            check.ID,
            "error",
            f"check crashed: {type(exc).__name__}: {exc}",
            metrics={"exception": type(exc).__name__, "where": where},
        )
    if not isinstance(result, CheckResult):
        result = CheckResult(check.ID, "error", f"check returned {type(result).__name__}, not a CheckResult")
    return replace(result, seconds=time.perf_counter() - started)


def run_checks(
    ctx: AuditContext,
    registry: Mapping[str, Check],
    only: Iterable[str] | None = None,
    progress: Callable[[str, CheckResult | None], None] | None = None,
) -> tuple[CheckResult, ...]:
    """Every wanted check in registry order; `progress(check_id, None)` before and `(check_id, result)` after each."""
    wanted = set(only) if only else None
    results = []
    for check_id, check in registry.items():
        if wanted is not None and check_id not in wanted:
            continue
        if progress is not None:
            progress(check_id, None)
        results.append(run_check(check, ctx))
        if progress is not None:
            progress(check_id, results[-1])
    return tuple(results)


def redacted(result: CheckResult, redact: Callable[[str], str]) -> CheckResult:
    """The result with personal data and secrets masked in every string it carries (see auditor.redaction)."""
    from auditor.redaction import Redactor

    return Redactor([redact]).result(result)

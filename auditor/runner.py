"""Run the registered checks; a check that raises becomes an `error` result, never a lost report."""
from __future__ import annotations

import time
from dataclasses import replace
import traceback
from types import ModuleType
from typing import Callable, Iterable, Mapping

from auditor.context import AuditContext
from auditor.errors import InputError
from auditor.results import CheckResult


def run_check(check: ModuleType, ctx: AuditContext) -> CheckResult:
    started = time.perf_counter()
    try:
        result = check.run(ctx, ctx.config.section(check.ID))
    except (InputError, MemoryError):
        raise
    except Exception as exc:  # isolation is the point: any crash becomes a result
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        where = f"{frame.filename.rsplit('/', 2)[-2]}/{frame.filename.rsplit('/', 1)[-1]}:{frame.lineno}"
        result = CheckResult(check.ID, "error", f"check crashed: {type(exc).__name__}: {exc}",
                             metrics={"exception": type(exc).__name__, "where": where})
    if not isinstance(result, CheckResult):
        result = CheckResult(check.ID, "error", f"check returned {type(result).__name__}, not a CheckResult")
    return replace(result, seconds=time.perf_counter() - started)


def run_checks(ctx: AuditContext, registry: Mapping[str, ModuleType], only: Iterable[str] | None = None) -> tuple[CheckResult, ...]:
    wanted = set(only) if only else None
    return tuple(run_check(check, ctx) for check_id, check in registry.items() if wanted is None or check_id in wanted)


def redacted(result: CheckResult, redact: Callable[[str], str]) -> CheckResult:
    """The result with personal data and secrets masked in every string it carries (see auditor.redaction)."""
    from auditor.redaction import Redactor

    return Redactor([redact]).result(result)

"""Run the registered checks; a check that raises becomes an `error` result, never a lost report."""
from __future__ import annotations

import time
import traceback
from types import ModuleType
from typing import Any, Callable, Iterable, Mapping

from auditor.context import AuditContext
from auditor.errors import InputError
from auditor.results import CheckResult, Finding


def run_check(check: ModuleType, ctx: AuditContext) -> CheckResult:
    started = time.perf_counter()
    try:
        result = check.run(ctx, ctx.config.section(check.ID))
    except InputError:
        raise
    except Exception as exc:  # isolation is the point: any crash becomes a result
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        where = f"{frame.filename.rsplit('/', 2)[-2]}/{frame.filename.rsplit('/', 1)[-1]}:{frame.lineno}"
        result = CheckResult(check.ID, "error", f"check crashed: {type(exc).__name__}: {exc}",
                             metrics={"exception": type(exc).__name__, "where": where})
    if not isinstance(result, CheckResult):
        result = CheckResult(check.ID, "error", f"check returned {type(result).__name__}, not a CheckResult")
    return CheckResult(result.id, result.status, result.summary, result.metrics, result.findings,
                       result.row_values, time.perf_counter() - started)


def run_checks(ctx: AuditContext, registry: Mapping[str, ModuleType], only: Iterable[str] | None = None) -> tuple[CheckResult, ...]:
    wanted = set(only) if only else None
    return tuple(run_check(check, ctx) for check_id, check in registry.items() if wanted is None or check_id in wanted)


def _scrub(value: Any, redact: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {k: _scrub(v, redact) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_scrub(v, redact) for v in value)
    return value


def redacted(result: CheckResult, redact: Callable[[str], str]) -> CheckResult:
    """The result with personal data and secrets masked in every message and quoted text.

    Checks quote dataset text (duplicate snippets, cluster examples); a report or scorecard must
    never repeat a secret in full."""
    findings = tuple(Finding(f.code, f.severity, redact(f.message), f.rows, _scrub(dict(f.data), redact), f.split)
                     for f in result.findings)
    return CheckResult(result.id, result.status, redact(result.summary), _scrub(dict(result.metrics), redact),
                       findings, result.row_values, result.seconds)

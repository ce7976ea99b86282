"""`ftaudit gate`: audit each training file and compare its decision with the configured minimum.

Unless gate.full_diagnostics is set, the gate leaves out work that cannot change pass or fail:
the format suite runs in polars instead of Great Expectations (the same expectations, tested to
agree) and the labels check skips its learning curve (a diagnostic for the scorecard).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator, Mapping

from auditor.config import load_config
from auditor.errors import InputError
from auditor.verdict import rank

MAX_REASONS = 3
FAST = {"format": {"use_great_expectations": False}, "labels": {"learning_curve_fractions": []}}


def gate_files(files: tuple[str, ...], gate: Mapping[str, Any]) -> list[str]:
    chosen = list(files) or list(gate["train"])
    if not chosen:
        raise InputError("no training files given, and the config's gate.train names none")
    skip = {Path(p).resolve() for p in (gate["production"], gate["eval"]) if p}
    return [f for f in chosen if Path(f).resolve() not in skip]


def run_gate(files: tuple[str, ...], production: str | None, eval_file: str | None, config_file: str | None,
             overrides: Mapping[str, Mapping[str, Any]], quiet: bool) -> Iterator[tuple[str, bool]]:
    """One line per file: PASS/FAIL, decision against the minimum, and the blocking reasons."""
    from auditor.api import audit

    config = load_config(config_file, overrides=overrides)
    gate = config.section("gate")
    if not gate["full_diagnostics"]:
        config = load_config(config_file, overrides={**overrides, **FAST})
    production = production or gate["production"] or None
    eval_file = eval_file or gate["eval"] or None
    minimum = gate["min_decision"]
    for path in gate_files(files, gate):
        verdict = audit(path, production, eval_file, config=config, quiet=quiet).verdict
        ok = rank(verdict.decision) >= rank(minimum)
        head = (f"{'PASS' if ok else 'FAIL'} {path}: {verdict.decision} (gate needs {minimum} or better) · "
                f"{verdict.usable_examples:,} usable · readiness {verdict.readiness_score}/100")
        if ok:
            yield head, True
            continue
        held = [c["source"] for c in verdict.caps]
        reasons = [r for r in verdict.reasons if any(r.startswith(source) for source in held)] or list(verdict.reasons)
        yield head + "".join(f"\n  - {r}" for r in reasons[:MAX_REASONS]), False

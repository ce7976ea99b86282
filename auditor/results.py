"""Frozen result types shared by checks, the runner, the verdict and the renderers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from auditor.evidence import Evidence

STATUSES = ("pass", "warn", "fail", "error", "skipped")
SEVERITIES = ("error", "warning", "info")
SPLITS = ("train", "eval", "production")

RowValues = Mapping[str, Mapping[str, Mapping[int, Any]]]


@dataclass(frozen=True)
class Finding:
    code: str
    severity: str
    message: str
    rows: tuple[int, ...] = ()
    data: Mapping[str, Any] = field(default_factory=dict)
    split: str = "train"

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"unknown severity {self.severity!r}")
        if self.split not in SPLITS:
            raise ValueError(f"unknown split {self.split!r}")
        object.__setattr__(self, "rows", tuple(sorted(int(r) for r in self.rows)))

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "rows": list(self.rows),
            "data": dict(self.data),
            "split": self.split,
        }


@dataclass(frozen=True)
class CheckResult:
    id: str
    status: str
    summary: str
    metrics: Mapping[str, Any] = field(default_factory=dict)
    findings: tuple[Finding, ...] = ()
    row_values: RowValues = field(default_factory=dict, compare=False, repr=False)
    seconds: float = 0.0
    evidence: tuple[Evidence, ...] = ()

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"unknown status {self.status!r}")
        object.__setattr__(self, "findings", tuple(self.findings))
        object.__setattr__(self, "evidence", tuple(self.evidence))

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "summary": self.summary,
            "metrics": dict(self.metrics),
            "findings": [f.to_dict() for f in self.findings],
            "seconds": round(self.seconds, 3),
            "evidence": [e.to_dict() for e in self.evidence],
        }


@dataclass(frozen=True)
class Verdict:
    decision: str
    size_tier: str
    usable_examples: int
    reasons: tuple[str, ...] = ()
    next_steps: tuple[str, ...] = ()
    readiness_score: int = 0
    data_decision: str = ""
    caps: tuple[Mapping[str, str], ...] = ()
    context_applied: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "decision": self.decision,
            "size_tier": self.size_tier,
            "usable_examples": self.usable_examples,
            "reasons": list(self.reasons),
            "next_steps": list(self.next_steps),
            "readiness_score": self.readiness_score,
            "data_decision": self.data_decision or self.decision,
            "caps": [dict(c) for c in self.caps],
            "context_applied": list(self.context_applied),
        }


@dataclass(frozen=True)
class InputSummary:
    path: str
    sha256: str
    format: str
    task: str
    rows_read: int
    rows_valid: int
    labels: int | None = None
    fields: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "sha256": self.sha256,
            "format": self.format,
            "task": self.task,
            "rows_read": self.rows_read,
            "rows_valid": self.rows_valid,
            "labels": self.labels,
            "fields": dict(self.fields),
        }


@dataclass(frozen=True)
class Report:
    tool: Mapping[str, str]
    created_at: str
    inputs: Mapping[str, InputSummary]
    verdict: Verdict
    checks: tuple[CheckResult, ...]
    config: Mapping[str, Any] = field(default_factory=dict)
    embedding: Mapping[str, Any] = field(default_factory=dict)
    annotations: Any = field(default=None, compare=False, repr=False)
    timings: Mapping[str, float] = field(default_factory=dict)

    SCHEMA_VERSION = 1

    def check(self, check_id: str) -> CheckResult | None:
        return next((c for c in self.checks if c.id == check_id), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": self.SCHEMA_VERSION,
            "tool": dict(self.tool),
            "created_at": self.created_at,
            "inputs": {split: s.to_dict() for split, s in self.inputs.items()},
            "verdict": self.verdict.to_dict(),
            "checks": [c.to_dict() for c in self.checks],
            "config": _plain(self.config),
            "embedding": dict(self.embedding),
            "timings": dict(self.timings),
        }


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value

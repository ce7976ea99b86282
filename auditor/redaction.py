"""The one chokepoint every string leaving an audit passes through: secrets and personal data masked.

`Redactor.for_config(config)` gathers the `redact_text(text, config)` hooks of the registered
checks (the sensitive check's, with the user's `[sensitive]` allow lists) and applies them to check
results (summaries, metrics, findings, evidence, per-row values), the verdict, the input summaries
and the annotation frame. Quotes are cut before they get here, so a token cut by a quote limit
(`4111 1111 1111 11…`, `jane.doe@exa…`) is masked too: what is left of it could rebuild the value.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, is_dataclass, replace
from functools import partial
from typing import Any

from auditor.results import CheckResult, Finding

ELLIPSIS = "…"
CUT_TOKEN = re.compile(r"(\S+)(\s?)$")
DIGIT_RUN_END = re.compile(r"((?:[\d()+\-./]*\d[\d()+\-./]* )+)$")
KEYISH = re.compile(r"[A-Za-z0-9_\-]{16,}")


def _mask(token: str) -> str:
    return re.sub(r"[A-Za-z0-9]", "*", token)


def mask_cut_tokens(text: str) -> str:
    """Mask the token right before each '…' when it could be the start of a value (digits, an '@',
    a long key-like run), and the digit groups before a cut digit run."""
    if ELLIPSIS not in text:
        return text
    parts = text.split(ELLIPSIS)
    for i, part in enumerate(parts[:-1]):
        match = CUT_TOKEN.search(part)
        if not match:
            continue
        token = match.group(1)
        if not (any(c.isdigit() for c in token) or "@" in token or KEYISH.search(token)):
            continue
        head = part[: match.start()]
        if any(c.isdigit() for c in token):
            head = DIGIT_RUN_END.sub(lambda m: _mask(m.group(1)), head)
        parts[i] = head + _mask(token) + match.group(2)
    return ELLIPSIS.join(parts)


Hook = Callable[[str], str]


def _apply(redact: Callable[[str, Mapping[str, Any]], str], section: Mapping[str, Any], text: str) -> str:
    return redact(text, section)


@dataclass
class Redactor:
    hooks: Sequence[Hook] = ()
    _memo: dict[str, str] = field(default_factory=dict)

    @classmethod
    def for_config(cls, config: Any) -> Redactor:
        """Every registered check's `redact_text` hook, with that check's section of `config`."""
        from auditor.registry import REGISTRY

        hooks: list[Hook] = []
        for check_id, check in REGISTRY.items():
            redact = getattr(check, "redact_text", None)
            if callable(redact):
                section = dict(config.section(check_id)) if config is not None else {}
                hooks.append(partial(_apply, redact, section))
        return cls(hooks)

    def text(self, value: str) -> str:
        if value not in self._memo:
            out = value
            for hook in self.hooks:
                out = hook(out)
            self._memo[value] = mask_cut_tokens(out)
        return self._memo[value]

    def value(self, value: Any) -> Any:
        """`value` with every string inside it (mapping keys included) redacted; other values kept."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {self.value(k) if isinstance(k, str) else k: self.value(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(self.value(v) for v in value)
        if is_dataclass(value) and not isinstance(value, type):
            changes = {f.name: self.value(getattr(value, f.name)) for f in fields(value) if f.init}
            return replace(value, **changes)
        return value

    def finding(self, finding: Finding) -> Finding:
        return Finding(
            finding.code,
            finding.severity,
            self.text(finding.message),
            finding.rows,
            self.value(dict(finding.data)),
            finding.split,
        )

    def result(self, result: CheckResult) -> CheckResult:
        return replace(
            result,
            summary=self.text(result.summary),
            metrics=self.value(dict(result.metrics)),
            findings=tuple(self.finding(f) for f in result.findings),
            evidence=tuple(self.value(e) for e in getattr(result, "evidence", ())),
            row_values=self.value(result.row_values),
        )

    def frame(self, frame: Any) -> Any:
        """A polars frame with every string column redacted (each distinct value once)."""
        import polars as pl

        if frame is None:
            return frame
        for name, dtype in frame.schema.items():
            if dtype != pl.String:
                continue
            changed = {v: r for v in frame[name].drop_nulls().unique().to_list() if (r := self.text(v)) != v}
            if changed:
                frame = frame.with_columns(pl.col(name).replace(changed))
        return frame

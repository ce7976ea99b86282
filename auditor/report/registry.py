"""The renderers, by `--format` name; modules are imported only when used (keeps `--help` instant)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from importlib import import_module
from typing import Any


@dataclass(frozen=True)
class Renderer:
    name: str
    module: str
    description: str
    takes_color: bool = False

    def render(self, report: Mapping[str, Any], color: bool = False) -> str:
        """The report dictionary (the JSON contract) as text; renderers never compute."""
        function = import_module(self.module).render
        return str(function(report, color=color) if self.takes_color else function(report))


RENDERERS: dict[str, Renderer] = {
    r.name: r
    for r in (
        Renderer("terminal", "auditor.report.terminal", "a coloured summary for a terminal", takes_color=True),
        Renderer("json", "auditor.report.json_report", "the JSON report (the public contract, schema_version 1)"),
        Renderer("markdown", "auditor.report.markdown", "a scorecard for a proposal or a pull request"),
        Renderer("html", "auditor.report.html_report", "a self-contained scorecard with charts"),
    )
}


def renderer(name: str) -> Renderer:
    return RENDERERS[name]

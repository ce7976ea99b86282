"""Terminal renderer (rich): reads only the report dictionary."""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

from auditor.report.escape import visible

STATUS_STYLE = {"pass": "green", "warn": "yellow", "fail": "red", "error": "magenta", "skipped": "dim"}
DECISION_STYLE = {
    "fine-tune": "bold green",
    "pilot": "bold yellow",
    "keep-prompting": "bold cyan",
    "blocked": "bold red",
}
SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}
MAX_FINDINGS = 15
MAX_ROWS = 8


def _rows(rows: list[int]) -> str:
    if not rows:
        return ""
    shown = ",".join(str(r) for r in rows[:MAX_ROWS])
    return shown + (f" +{len(rows) - MAX_ROWS}" if len(rows) > MAX_ROWS else "")


def render(report: Mapping[str, Any], color: bool = False, width: int = 110) -> str:
    """Every value from the report is a rich `Text` (never markup) with control and bidi characters made visible."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    def t(value: Any, style: str = "") -> Text:
        return Text(visible(value), style=style)

    out = io.StringIO()
    console = Console(file=out, force_terminal=color, no_color=not color, width=width, highlight=False, emoji=False)
    train = report["inputs"]["train"]
    console.print(
        t(
            f"ftaudit {report['tool']['version']} · {train['path']} · {train['format']}, {train['task']} · "
            f"{train['rows_valid']}/{train['rows_read']} rows valid",
            style="bold",
        )
    )
    for split in ("eval", "production"):
        if split in report["inputs"]:
            info = report["inputs"][split]
            console.print(
                t(f"{split}: {info['path']} · {info['format']} · {info['rows_valid']}/{info['rows_read']} rows valid")
            )
    verdict = report["verdict"]
    console.print()
    line = Text("Verdict: ")
    line.append(visible(verdict["decision"]).upper(), style=DECISION_STYLE.get(verdict["decision"], "bold"))
    line.append(visible(f"   tier {verdict['size_tier']} · {verdict['usable_examples']} usable examples"))
    console.print(line)
    for reason in verdict["reasons"]:
        console.print(t(f"  • {reason}"))
    if verdict["next_steps"]:
        console.print(Text("Next steps", style="bold"))
        for number, step in enumerate(verdict["next_steps"], 1):
            console.print(t(f"  {number}. {step}"))
    console.print()
    table = Table(title="Checks", title_justify="left", expand=True)
    table.add_column("check", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("summary")
    table.add_column("s", justify="right", no_wrap=True)
    for check in report["checks"]:
        seconds = check.get("seconds", 0)
        table.add_row(
            t(check["id"]),
            t(check["status"], STATUS_STYLE.get(check["status"], "")),
            t(check["summary"]),
            t(f"{seconds:.1f}" if isinstance(seconds, (int, float)) else seconds),
        )
    console.print(table)
    findings = [f for c in report["checks"] for f in c["findings"]]
    findings.sort(key=lambda f: SEVERITY_ORDER.get(f["severity"], 3))
    if findings:
        table = Table(title=f"Findings ({len(findings)})", title_justify="left", expand=True)
        table.add_column("code", no_wrap=True)
        table.add_column("sev", no_wrap=True)
        table.add_column("split", no_wrap=True)
        table.add_column("lines")
        table.add_column("message")
        for finding in findings[:MAX_FINDINGS]:
            style = {"error": "red", "warning": "yellow"}.get(finding["severity"], "dim")
            table.add_row(
                t(finding["code"]),
                t(finding["severity"], style),
                t(finding.get("split", "train")),
                t(_rows(finding["rows"])),
                t(finding["message"]),
            )
        console.print(table)
        if len(findings) > MAX_FINDINGS:
            console.print(f"… {len(findings) - MAX_FINDINGS} more findings in the JSON report (--format json)")
    return out.getvalue()

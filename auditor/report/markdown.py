"""Markdown scorecard for proposals and pull requests: reads only the report dictionary."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from auditor.report import preference_section, tokens_section
from auditor.report.escape import number, visible

MAX_FINDINGS = 12
MAX_ROWS = 12
SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}
DECISION_LABEL = {
    "fine-tune": "✅ fine-tune",
    "pilot": "🧪 pilot",
    "keep-prompting": "✍️ keep prompting",
    "blocked": "⛔ blocked",
}


def cell(text: Any) -> str:
    """Dataset text is untrusted: keep it on one line and neutralise Markdown/HTML syntax."""
    value = " ".join(visible(text).split())
    for char in "\\|`*_[]<>#!~&":
        value = value.replace(char, "\\" + char)
    return value


def code(text: Any) -> str:
    """Inside a code span nothing is interpreted; only a backtick could break out of it."""
    return "`" + " ".join(visible(text).split()).replace("`", "'") + "`"


def rows_text(rows: list[int]) -> str:
    shown = ", ".join(cell(r) for r in rows[:MAX_ROWS])
    return shown + (f" (+{len(rows) - MAX_ROWS})" if len(rows) > MAX_ROWS else "")


def render(report: Mapping[str, Any]) -> str:
    verdict = report["verdict"]
    train = report["inputs"]["train"]
    size = next((c for c in report["checks"] if c["id"] == "size"), None)
    decision = cell(verdict["decision"])
    out = [f"# Fine-tuning readiness: {DECISION_LABEL.get(verdict['decision'], decision)}", ""]
    out.append(
        f"**{decision}** · readiness {number(verdict.get('readiness_score', 0), '')}/100 · "
        f"{number(verdict['usable_examples'])} usable examples (tier **{cell(verdict['size_tier'])}**) · "
        f"{code(train['path'])} ({cell(train['format'])}, {cell(train['task'])})"
    )
    out.append("")
    if size and "thresholds" in size["metrics"]:
        t = size["metrics"]["thresholds"]
        low, mid, high = (int(t[k]) for k in ("minimum_from", "preferred_from", "strong_from"))
        marks = [
            ("insufficient", f"< {low}"),
            ("minimum", f"{low}–{mid - 1}"),
            ("preferred", f"{mid}–{high - 1}"),
            ("strong", f"≥ {high}"),
        ]
        out.append(
            "| tier | " + " | ".join(f"{'**' + n + '**' if n == verdict['size_tier'] else n}" for n, _ in marks) + " |"
        )
        out.append("|---|" + "---|" * len(marks))
        out.append("| usable examples | " + " | ".join(r for _, r in marks) + " |")
        out.append("")
    out += ["## Why", ""] + [f"- {cell(r)}" for r in verdict["reasons"]] + [""]
    if verdict["next_steps"]:
        out += (
            ["## What would change it", ""] + [f"{i}. {cell(s)}" for i, s in enumerate(verdict["next_steps"], 1)] + [""]
        )
    preference = next((c for c in report["checks"] if c["id"] == "preference" and c["status"] != "skipped"), None)
    if preference:
        out += preference_section.markdown(preference, cell)
    tokens = next((c for c in report["checks"] if c["id"] == "tokens"), None)
    if tokens and tokens["status"] not in ("skipped", "error") and "token_p50" in (tokens.get("metrics") or {}):
        out += tokens_section.markdown(tokens, cell)
    out += ["## Checks", "", "| check | status | key figure |", "|---|---|---|"]
    out += [f"| {cell(c['id'])} | {cell(c['status'])} | {cell(c['summary'])} |" for c in report["checks"]]
    findings = sorted(
        (f for c in report["checks"] for f in c["findings"]), key=lambda f: SEVERITY_ORDER.get(f["severity"], 3)
    )
    if findings:
        out += [
            "",
            f"## Top findings ({len(findings)} in all)",
            "",
            "| code | severity | file | lines | finding |",
            "|---|---|---|---|---|",
        ]
        out += [
            f"| {cell(f['code'])} | {cell(f['severity'])} | {cell(f.get('split', 'train'))} | {rows_text(f['rows'])} | "
            f"{cell(f['message'])} |"
            for f in findings[:MAX_FINDINGS]
        ]
    out += ["", "## Provenance", ""]
    for split, info in report["inputs"].items():
        out.append(
            f"- {cell(split)}: {code(info['path'])} sha256 {code(str(info['sha256'])[:16] + '…')}, "
            f"{number(info['rows_valid'])}/{number(info['rows_read'])} rows valid"
        )
    embedding = report.get("embedding", {})
    out.append(
        f"- {cell(report['tool']['name'])} {cell(report['tool']['version'])}, {cell(report['created_at'])}, "
        f"embedding model {cell(embedding.get('model', 'n/a'))}, "
        f"config: {cell(report.get('config', {}).get('source', 'defaults'))}"
    )
    context = report.get("config", {}).get("values", {}).get("context") or {}
    if context:
        out.append("- context: " + ", ".join(code(f"{k}={v}") for k, v in sorted(context.items(), key=str)))
    return "\n".join(out) + "\n"

"""Markdown scorecard for proposals and pull requests: reads only the report dictionary."""
from __future__ import annotations

from typing import Any, Mapping

MAX_FINDINGS = 12
MAX_ROWS = 12
SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}
DECISION_LABEL = {"fine-tune": "✅ fine-tune", "pilot": "🧪 pilot", "keep-prompting": "✍️ keep prompting", "blocked": "⛔ blocked"}


def cell(text: Any) -> str:
    """Dataset text is untrusted: keep it on one line and neutralise Markdown/HTML syntax."""
    value = " ".join(str(text).split())
    for char in "\\|`*_[]<>#":
        value = value.replace(char, "\\" + char)
    return value


def code(text: Any) -> str:
    """Inside a code span nothing is interpreted; only a backtick could break out of it."""
    return "`" + " ".join(str(text).split()).replace("`", "'") + "`"


def rows_text(rows: list[int]) -> str:
    shown = ", ".join(str(r) for r in rows[:MAX_ROWS])
    return shown + (f" (+{len(rows) - MAX_ROWS})" if len(rows) > MAX_ROWS else "")


def render(report: Mapping[str, Any]) -> str:
    verdict = report["verdict"]
    train = report["inputs"]["train"]
    size = next((c for c in report["checks"] if c["id"] == "size"), None)
    out = [f"# Fine-tuning readiness: {DECISION_LABEL.get(verdict['decision'], verdict['decision'])}", ""]
    out.append(f"**{verdict['decision']}** · readiness {verdict.get('readiness_score', 0)}/100 · "
               f"{verdict['usable_examples']:,} usable examples (tier **{verdict['size_tier']}**) · "
               f"{code(train['path'])} ({train['format']}, {train['task']})")
    out.append("")
    if size and "thresholds" in size["metrics"]:
        t = size["metrics"]["thresholds"]
        marks = [("insufficient", f"< {t['minimum_from']}"), ("minimum", f"{t['minimum_from']}–{t['preferred_from'] - 1}"),
                 ("preferred", f"{t['preferred_from']}–{t['strong_from'] - 1}"), ("strong", f"≥ {t['strong_from']}")]
        out.append("| tier | " + " | ".join(f"{'**' + n + '**' if n == verdict['size_tier'] else n}" for n, _ in marks) + " |")
        out.append("|---|" + "---|" * len(marks))
        out.append("| usable examples | " + " | ".join(r for _, r in marks) + " |")
        out.append("")
    out += ["## Why", ""] + [f"- {cell(r)}" for r in verdict["reasons"]] + [""]
    if verdict["next_steps"]:
        out += ["## What would change it", ""] + [f"{i}. {cell(s)}" for i, s in enumerate(verdict["next_steps"], 1)] + [""]
    out += ["## Checks", "", "| check | status | key figure |", "|---|---|---|"]
    out += [f"| {c['id']} | {c['status']} | {cell(c['summary'])} |" for c in report["checks"]]
    findings = sorted((f for c in report["checks"] for f in c["findings"]), key=lambda f: SEVERITY_ORDER.get(f["severity"], 3))
    if findings:
        out += ["", f"## Top findings ({len(findings)} in all)", "", "| code | severity | file | lines | finding |", "|---|---|---|---|---|"]
        out += [f"| {f['code']} | {f['severity']} | {f.get('split', 'train')} | {rows_text(f['rows'])} | {cell(f['message'])} |"
                for f in findings[:MAX_FINDINGS]]
    out += ["", "## Provenance", ""]
    for split, info in report["inputs"].items():
        out.append(f"- {split}: {code(info['path'])} sha256 `{info['sha256'][:16]}…`, {info['rows_valid']:,}/{info['rows_read']:,} rows valid")
    embedding = report.get("embedding", {})
    out.append(f"- {report['tool']['name']} {report['tool']['version']}, {report['created_at']}, "
               f"embedding model {embedding.get('model', 'n/a')}, config: {cell(report.get('config', {}).get('source', 'defaults'))}")
    context = report.get("config", {}).get("values", {}).get("context") or {}
    if context:
        out.append("- context: " + ", ".join(f"{k}={v}" for k, v in sorted(context.items())))
    return "\n".join(out) + "\n"

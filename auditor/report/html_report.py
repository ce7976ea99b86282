"""Self-contained HTML scorecard (inline CSS and SVG, no scripts, no network): reads only the report dictionary.

Every piece of dataset text is escaped: a dataset is untrusted input.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from auditor.report import preference_section, tokens_section
from auditor.report.escape import number, visible
from auditor.report.markdown import SEVERITY_ORDER, rows_text

MAX_FINDINGS = 40
MAX_LABELS = 120
COLORS = {"fine-tune": "#1a7f37", "pilot": "#9a6700", "keep-prompting": "#0969da", "blocked": "#cf222e"}
STATUS_COLORS = {"pass": "#1a7f37", "warn": "#9a6700", "fail": "#cf222e", "error": "#8250df", "skipped": "#6e7781"}
CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1100px;
color:#1f2328;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}
h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #d0d7de;padding-bottom:.3rem}
.badge{display:inline-block;padding:.2rem .7rem;border-radius:1rem;color:#fff;font-weight:600}
table{border-collapse:collapse;width:100%;margin:.5rem 0}
td,th{border:1px solid #d0d7de;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}.muted{color:#57606a}.grid{display:grid;grid-template-columns:1fr 1fr;gap:1.5rem}
svg text{font:11px system-ui,sans-serif;fill:#1f2328}code{background:#f6f8fa;padding:0 .2rem;border-radius:3px}
"""


def e(value: Any) -> str:
    return escape(visible(value), quote=True)


def size_chart(usable: int, thresholds: Mapping[str, int]) -> str:
    width, height, left = 520, 70, 10
    top = max(usable, thresholds["strong_from"]) * 1.15
    scale = (width - 2 * left) / top
    parts = [
        f'<svg width="{width}" height="{height}" role="img" aria-label="usable size against thresholds">',
        f'<rect x="{left}" y="18" width="{usable * scale:.1f}" height="22" fill="#0969da"/>',
    ]
    for name in ("minimum_from", "preferred_from", "strong_from"):
        x = left + thresholds[name] * scale
        parts.append(
            f'<line x1="{x:.1f}" y1="10" x2="{x:.1f}" y2="48" stroke="#cf222e" stroke-dasharray="3,2"/>'
            f'<text x="{x:.1f}" y="62" text-anchor="middle">{thresholds[name]:,}</text>'
        )
    parts.append(f'<text x="{left + usable * scale + 4:.1f}" y="34">{usable:,} usable</text></svg>')
    return "".join(parts)


def label_chart(counts: Mapping[str, int]) -> str:
    """Every label, largest first; past MAX_LABELS labels the largest and the rarest halves are drawn and one
    bar says how many labels in between are left out and how many examples they hold."""
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))
    if not ordered:
        return ""
    rows: list[tuple[str, int] | str] = list(ordered)
    if len(ordered) > MAX_LABELS:
        half = MAX_LABELS // 2
        middle = ordered[half : len(ordered) - half]
        rows = [
            *ordered[:half],
            f"{len(middle)} more labels with {middle[-1][1]:,}–{middle[0][1]:,} examples each",
            *ordered[len(ordered) - half :],
        ]
    bar = 14 if len(rows) <= 40 else 9
    gap, label_width, width = 3, 190, 520
    peak = ordered[0][1] or 1
    height = len(rows) * (bar + gap) + 10
    title = f"examples per label ({len(ordered)} labels)"
    parts = [f'<svg width="{width}" height="{height}" role="img" aria-label="{title}">']
    for i, row in enumerate(rows):
        y = 5 + i * (bar + gap)
        if isinstance(row, str):
            parts.append(f'<text x="{label_width}" y="{y + bar - 2}" font-style="italic">{e(row)}</text>')
            continue
        label, count = row
        w = (width - label_width - 50) * count / peak
        parts.append(
            f'<text x="{label_width - 6}" y="{y + bar - 2}" text-anchor="end">{e(str(label)[:28])}</text>'
            f'<rect x="{label_width}" y="{y}" width="{w:.1f}" height="{bar}" fill="#8250df"/>'
            f'<text x="{label_width + w + 4:.1f}" y="{y + bar - 2}">{count}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def histogram_chart(histogram: Mapping[str, Sequence[float]], threshold: float | None) -> str:
    edges, counts = list(histogram.get("bins", [])), list(histogram.get("counts", []))
    if not counts or len(edges) != len(counts) + 1:
        return ""
    width, height, pad = 520, 200, 30
    lo, hi, peak = edges[0], edges[-1], max(counts) or 1
    sx = (width - 2 * pad) / ((hi - lo) or 1)
    sy = (height - 2 * pad) / peak
    parts = [f'<svg width="{width}" height="{height}" role="img" aria-label="nearest-neighbour similarity histogram">']
    for left, right, count in zip(edges, edges[1:], counts):
        color = "#1a7f37" if threshold is not None and left >= threshold else "#cf222e"
        parts.append(
            f'<rect x="{pad + (left - lo) * sx:.1f}" y="{height - pad - count * sy:.1f}" '
            f'width="{max((right - left) * sx - 1, 1):.1f}" height="{count * sy:.1f}" fill="{color}"/>'
        )
    if threshold is not None:
        x = pad + (threshold - lo) * sx
        parts.append(
            f'<line x1="{x:.1f}" y1="{pad - 10}" x2="{x:.1f}" y2="{height - pad}" stroke="#1f2328" stroke-width="2"/>'
            f'<text x="{x + 4:.1f}" y="{pad - 2}">τ = {threshold:.3f}</text>'
        )
    parts.append(
        f'<text x="{pad}" y="{height - 8}">{lo:.2f}</text><text x="{width - pad}" y="{height - 8}" '
        f'text-anchor="end">{hi:.2f}</text><text x="{width / 2}" y="{height - 8}" text-anchor="middle">'
        "similarity to nearest training input</text></svg>"
    )
    return "".join(parts)


def map_chart(points: Sequence[Mapping[str, Any]], clusters: Sequence[Mapping[str, Any]]) -> str:
    if not points:
        return ""
    size, pad = 520, 20
    xs, ys = [p["x"] for p in points], [p["y"] for p in points]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    sx, sy = (size - 2 * pad) / ((x1 - x0) or 1), (size - 2 * pad) / ((y1 - y0) or 1)
    parts = [f'<svg width="{size}" height="{size}" role="img" aria-label="training and production embeddings">']
    centres: dict[Any, list[tuple[float, float]]] = {}
    for p in sorted(points, key=lambda p: p["split"] == "production"):
        x, y = pad + (p["x"] - x0) * sx, size - pad - (p["y"] - y0) * sy
        if p["split"] == "train":
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2" fill="#8c959f" fill-opacity="0.5"/>')
        else:
            color = "#0969da" if p.get("covered") else "#cf222e"
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}" fill-opacity="0.8"/>')
            if p.get("cluster") is not None:
                centres.setdefault(p["cluster"], []).append((x, y))
    for cluster_id, spots in centres.items():
        cx, cy = sum(x for x, _ in spots) / len(spots), sum(y for _, y in spots) / len(spots)
        parts.append(f'<text x="{cx:.1f}" y="{cy:.1f}" font-weight="bold">C{e(cluster_id)}</text>')
    parts.append(
        f'<text x="{pad}" y="14">grey: training · blue: covered production · red: uncovered production '
        f"({len(clusters)} clusters)</text></svg>"
    )
    return "".join(parts)


def safe_chart(chart: Any, *args: Any) -> str:
    """A chart, or nothing when its numbers are not numbers (a crafted or damaged report.json)."""
    try:
        return str(chart(*args))
    except (TypeError, ValueError, KeyError, AttributeError, ZeroDivisionError):
        return '<p class="muted">(chart omitted: its data is not numeric)</p>'


def render(report: Mapping[str, Any]) -> str:
    verdict, train = report["verdict"], report["inputs"]["train"]
    checks = {c["id"]: c for c in report["checks"]}
    decision = verdict["decision"]
    body = [
        f"<h1>Fine-tuning readiness: {e(decision.replace('-', ' '))}</h1>",
        f'<p><span class="badge" style="background:{COLORS.get(decision, "#57606a")}">{e(decision)}</span> '
        f"readiness <b>{e(verdict.get('readiness_score', 0))}/100</b> · "
        f"<b>{e(number(verdict['usable_examples']))}</b> usable "
        f"examples (tier <b>{e(verdict['size_tier'])}</b>) · <code>{e(train['path'])}</code> "
        f"({e(train['format'])}, {e(train['task'])})</p>",
        "<h2>Why</h2><ul>" + "".join(f"<li>{e(r)}</li>" for r in verdict["reasons"]) + "</ul>",
    ]
    if verdict["next_steps"]:
        body.append(
            "<h2>What would change it</h2><ol>" + "".join(f"<li>{e(s)}</li>" for s in verdict["next_steps"]) + "</ol>"
        )
    charts = []
    size = checks.get("size", {}).get("metrics", {})
    if "thresholds" in size:
        charts.append(
            f"<div><h2>Usable size</h2>{safe_chart(size_chart, size['usable_examples'], size['thresholds'])}</div>"
        )
    if size.get("label_counts"):
        charts.append(f"<div><h2>Examples per label</h2>{safe_chart(label_chart, size['label_counts'])}</div>")
    coverage = checks.get("coverage", {}).get("metrics", {})
    if coverage.get("map"):
        charts.append(
            f"<div><h2>Training vs production</h2>"
            f"{safe_chart(map_chart, coverage['map'], coverage.get('uncovered_clusters') or [])}</div>"
        )
    if coverage.get("similarity_histogram"):
        charts.append(
            f"<div><h2>Production nearest-neighbour similarity</h2>"
            f"{safe_chart(histogram_chart, coverage['similarity_histogram'], coverage.get('threshold'))}</div>"
        )
    tokens = checks.get("tokens", {}).get("metrics", {})
    if tokens_section.has_chart(tokens):
        charts.append(
            f"<div><h2>{tokens_section.chart_title(tokens)}</h2>"
            f"{safe_chart(tokens_section.length_chart, tokens['token_histogram'])}</div>"
        )
    if charts:
        body.append('<div class="grid">' + "".join(charts) + "</div>")
    if checks.get("preference", {}).get("status") not in (None, "skipped"):
        body.append(preference_section.html(checks["preference"]))
    clusters = coverage.get("uncovered_clusters") or []
    if clusters:
        rows = []
        for c in clusters:
            examples = "<br>".join(e(x.get("text", x) if isinstance(x, Mapping) else x) for x in c.get("examples", []))
            rows.append(
                f"<tr><td>C{e(c.get('id'))}</td><td>{e(c.get('size'))} ({e(number(c.get('share', 0), '.0%'))})</td>"
                f"<td>{examples}</td><td>{e(c.get('examples_to_collect'))}</td></tr>"
            )
        body.append(
            "<h2>Uncovered production clusters</h2><table><tr><th>cluster</th><th>inputs</th><th>examples</th>"
            "<th>examples to collect</th></tr>" + "".join(rows) + "</table>"
        )
    body.append(
        "<h2>Checks</h2><table><tr><th>check</th><th>status</th><th>key figure</th></tr>"
        + "".join(
            f"<tr><td>{e(c['id'])}</td>"
            f'<td style="color:{STATUS_COLORS.get(c["status"], "#1f2328")}"><b>{e(c["status"])}</b></td>'
            f"<td>{e(c['summary'])}</td></tr>"
            for c in report["checks"]
        )
        + "</table>"
    )
    findings = sorted(
        (f for c in report["checks"] for f in c["findings"]), key=lambda f: SEVERITY_ORDER.get(f["severity"], 3)
    )
    if findings:
        body.append(
            f"<h2>Top findings ({len(findings)} in all)</h2><table><tr><th>code</th><th>severity</th><th>file</th>"
            "<th>lines</th><th>finding</th></tr>"
            + "".join(
                f"<tr><td>{e(f['code'])}</td><td>{e(f['severity'])}</td><td>{e(f.get('split', 'train'))}</td>"
                f"<td>{e(rows_text(f['rows']))}</td><td>{e(f['message'])}</td></tr>"
                for f in findings[:MAX_FINDINGS]
            )
            + "</table>"
        )
    provenance = [
        f"<li>{e(split)}: <code>{e(i['path'])}</code> sha256 <code>{e(i['sha256'])}</code>, "
        f"{e(number(i['rows_valid']))}/{e(number(i['rows_read']))} rows valid</li>"
        for split, i in report["inputs"].items()
    ]
    embedding = report.get("embedding", {})
    provenance.append(
        f"<li>{e(report['tool']['name'])} {e(report['tool']['version'])}, {e(report['created_at'])}, "
        f"embedding model {e(embedding.get('model', 'n/a'))}, "
        f"config {e(report.get('config', {}).get('source', 'defaults'))}</li>"
    )
    body.append('<h2>Provenance</h2><ul class="muted">' + "".join(provenance) + "</ul>")
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
        f"<title>ftaudit: {e(decision)} — {e(train['path'])}</title><style>{CSS}</style></head><body>"
        + "".join(body)
        + "</body></html>\n"
    )

"""The tokens part of the scorecards (lengths for the target, the sequence limit, what truncation costs): reads only
the report's tokens metrics, every value formatted as inert text."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from auditor.report.escape import number, visible


def figures(metrics: Mapping[str, Any]) -> list[tuple[str, str]]:
    limit = f"{number(metrics.get('max_seq_len'))} ({visible(metrics.get('truncation'))})"
    return [
        ("target", visible(metrics.get("target"))),
        ("max sequence length (truncation)", limit),
        (
            "tokens per row p50 / p90 / p99 / max",
            " / ".join(number(metrics.get(f"token_{k}")) for k in ("p50", "p90", "p99", "max")),
        ),
        (
            "rows over the limit",
            f"{number(metrics.get('examples_over_limit'))} ({number(metrics.get('over_limit_share'), '.1%')})",
        ),
        (
            "rows dropped / partly cut",
            f"{number(metrics.get('rows_dropped'))} / {number(metrics.get('outputs_truncated'))}",
        ),
        (
            "rows with nothing to learn (all masked)",
            f"{number(metrics.get('rows_untrainable'))} ({number(metrics.get('rows_masked'))})",
        ),
    ]


def markdown(check: Mapping[str, Any], cell: Any) -> list[str]:
    metrics = check.get("metrics") or {}
    out = ["## Tokens for the target", "", "| figure | value |", "|---|---|"]
    return out + [f"| {cell(what)} | {cell(value)} |" for what, value in figures(metrics)] + [""]


def length_chart(histogram: Mapping[str, Any]) -> str:
    """Rows per rendered length: bars under the limit blue, bars reaching past it red, the limit a line."""
    edges = [float(x) for x in histogram.get("bins", [])]
    counts = [int(x) for x in histogram.get("counts", [])]
    if not counts or len(edges) != len(counts) + 1:
        return ""
    limit = float(histogram["limit"])
    width, height, pad = 520, 200, 30
    lo, hi, peak = edges[0], edges[-1], max(counts) or 1
    sx, sy = (width - 2 * pad) / ((hi - lo) or 1), (height - 2 * pad) / peak
    parts = [f'<svg width="{width}" height="{height}" role="img" aria-label="tokens per row against the limit">']
    for left, right, count in zip(edges, edges[1:], counts):
        color = "#cf222e" if right > limit + 1 else "#0969da"
        parts.append(
            f'<rect x="{pad + (left - lo) * sx:.1f}" y="{height - pad - count * sy:.1f}" '
            f'width="{max((right - left) * sx - 1, 1):.1f}" height="{count * sy:.1f}" fill="{color}"/>'
        )
    x = pad + (min(limit, hi) - lo) * sx
    over = number(histogram.get("over_limit"))
    parts.append(
        f'<line x1="{x:.1f}" y1="{pad - 10}" x2="{x:.1f}" y2="{height - pad}" stroke="#1f2328" '
        f'stroke-width="2"/><text x="{min(x + 4, width - 150):.1f}" y="{pad - 2}">'
        f"max_seq_len {escape(number(limit, ',.0f'))} · {escape(over)} over</text>"
    )
    last = f"{hi:,.0f}" + ("+" if histogram.get("last_bin_open") else "")
    parts.append(
        f'<text x="{pad}" y="{height - 8}">{lo:,.0f}</text><text x="{width - pad}" y="{height - 8}" '
        f'text-anchor="end">{escape(last)}</text><text x="{width / 2}" y="{height - 8}" '
        'text-anchor="middle">tokens per row (rendered for the target)</text></svg>'
    )
    return "".join(parts)


def chart_title(metrics: Mapping[str, Any]) -> str:
    return escape(visible(f"Tokens per row ({metrics.get('target')})"), quote=True)


def has_chart(metrics: Mapping[str, Any]) -> bool:
    histogram = metrics.get("token_histogram")
    return (
        isinstance(histogram, Mapping)
        and isinstance(histogram.get("counts"), Sequence)
        and bool(histogram.get("counts"))
    )

"""The preference section of the scorecards (pairs, length-ratio chart, refusal shares): reads only the report."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from auditor.report.escape import number, visible


def _get(metrics: Mapping[str, Any], *keys: str) -> Any:
    value: Any = metrics
    for key in keys:
        value = value.get(key) if isinstance(value, Mapping) else None
    return value


def figures(metrics: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(what, value) rows of the section, every value formatted as inert text."""

    def pct(*keys: str) -> str:
        return number(_get(metrics, *keys), ".1%")

    rows = [
        ("valid rows (pairs + unpaired)", number(metrics.get("rows_valid"))),
        ("usable pairs", number(metrics.get("usable_pairs"))),
        ("sides that do not answer the same prompt", number(metrics.get("mismatched_pairs"))),
        ("identical or one word apart", number(metrics.get("identical_pairs"))),
        ("tied or reversed ratings", number(metrics.get("rating_issues"))),
        ("rows contradicting another pair", number(metrics.get("contradicting_rows"))),
        ("repeated pairs", number(metrics.get("repeated_pairs"))),
        ("inconsistent share", pct("inconsistent_share")),
        (
            "prompts (pairs per prompt, mean)",
            f"{number(metrics.get('prompts'))} ({number(_get(metrics, 'pairs_per_prompt', 'mean'))})",
        ),
        ("chosen reply longer", pct("length", "chosen_longer_share")),
        ("median chosen/rejected token ratio", number(_get(metrics, "length", "median_ratio"))),
        ("length alone predicts the preference", pct("length", "predictiveness")),
        ("refusals: chosen / rejected", f"{pct('refusals', 'chosen_share')} / {pct('refusals', 'rejected_share')}"),
    ]
    if isinstance(metrics.get("kto"), Mapping):
        rows.append(
            (
                "KTO desirable / undesirable",
                f"{number(_get(metrics, 'kto', 'desirable'))} / {number(_get(metrics, 'kto', 'undesirable'))}",
            )
        )
    return rows


def bin_label(item: Mapping[str, Any]) -> str:
    lo, hi = item.get("from"), item.get("to")
    if hi is None:
        return f"≥ {number(lo, 'g')}×"
    return f"< {number(hi, 'g')}×" if lo == 0 else f"{number(lo, '.2g')}–{number(hi, '.2g')}×"


def markdown(check: Mapping[str, Any], cell: Any) -> list[str]:
    metrics = check.get("metrics") or {}
    out = ["## Preference pairs", "", "| figure | value |", "|---|---|"]
    out += [f"| {cell(what)} | {cell(value)} |" for what, value in figures(metrics)]
    bins = _get(metrics, "length", "ratio_bins")
    if isinstance(bins, Sequence) and bins and all(isinstance(b, Mapping) for b in bins):
        out += [
            "",
            "Chosen/rejected reply length (tokens), pairs per ratio:",
            "",
            "| " + " | ".join(cell(bin_label(b)) for b in bins) + " |",
            "|" + "---|" * len(bins),
            "| " + " | ".join(cell(number(b.get("pairs"))) for b in bins) + " |",
        ]
    return out + [""]


def ratio_chart(bins: Sequence[Mapping[str, Any]]) -> str:
    counts = [int(b["pairs"]) for b in bins]
    width, height, pad = 520, 190, 28
    peak = max(counts) or 1
    step = (width - 2 * pad) / len(counts)
    parts = [f'<svg width="{width}" height="{height}" role="img" aria-label="chosen/rejected length ratio">']
    for i, (item, count) in enumerate(zip(bins, counts)):
        hi, lo = item.get("to"), float(item["from"])
        color = "#0969da" if hi is not None and float(hi) <= 0.9 else "#8c959f" if lo < 1.1 else "#bc4c00"
        h = (height - 2 * pad - 12) * count / peak
        x, y = pad + i * step, height - pad - h
        parts.append(
            f'<rect x="{x + 2:.1f}" y="{y:.1f}" width="{step - 4:.1f}" height="{h:.1f}" fill="{color}"/>'
            f'<text x="{x + step / 2:.1f}" y="{y - 3:.1f}" text-anchor="middle">{count:,}</text>'
            f'<text x="{x + step / 2:.1f}" y="{height - pad + 13}" text-anchor="middle">'
            f"{escape(visible(bin_label(item)))}</text>"
        )
    parts.append(
        f'<text x="{pad}" y="{height - 4}">blue: chosen shorter · grey: about equal · orange: chosen '
        "longer (tokens)</text></svg>"
    )
    return "".join(parts)


def html(check: Mapping[str, Any]) -> str:
    metrics = check.get("metrics") or {}
    rows = "".join(
        f"<tr><td>{escape(visible(what))}</td><td>{escape(visible(value))}</td></tr>"
        for what, value in figures(metrics)
    )
    chart = ""
    bins = _get(metrics, "length", "ratio_bins")
    if isinstance(bins, Sequence) and bins:
        try:
            chart = ratio_chart(bins)
        except (TypeError, ValueError, KeyError, AttributeError, ZeroDivisionError):
            chart = '<p class="muted">(chart omitted: its data is not numeric)</p>'
    return (
        f'<h2>Preference pairs</h2><div class="grid"><div><table><tr><th>figure</th><th>value</th></tr>{rows}'
        f"</table></div><div><b>Chosen/rejected reply length ratio</b>{chart}</div></div>"
    )

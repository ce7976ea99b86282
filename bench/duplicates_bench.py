"""Duplicate-detection benchmark on real data (Banking77 texts, GSM8K questions), plain and behind a preamble.

Injects exact variants (case, spacing, Unicode forms) and near variants (typo, dropped word,
changed punctuation, swapped words) of randomly chosen rows, runs the detector, and reports
recall per variant kind and row precision. Rows already in a near group before injection
(real near duplicates of the source data) are reported apart and left out of precision.
Each set is also run in three preamble styles: the same ~170-word tool description before every
text (prefix), after it (suffix), and as an Alpaca instruction with the text as its input (alpaca);
the shared text must change neither recall nor precision.

    python -m bench.duplicates_bench [--seeds 0 1 2] [--per-kind 150] [--styles plain prefix suffix alpaca]
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import time
from pathlib import Path

from auditor.dedup import NearParams, near_duplicates
from auditor.embed import Embedder
from auditor.neighbors import neighbour_graph
from auditor.text import normalize
from auditor.varying import varying_texts
from bench.inject import EXACT, NEAR

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
CANDIDATE_SIMILARITY = 0.80
PREAMBLE = (
    "You are the assistant of an online learning platform and can call the following tools. "
    "calculator(expression): evaluates an arithmetic expression with +, -, *, / and parentheses and returns "
    "the exact result as a decimal number; use it for every multiplication or division of numbers with more "
    "than two digits. unit_convert(value, from_unit, to_unit): converts lengths, weights, volumes, durations "
    "and currencies at the rates published each morning; never guess a rate yourself. lookup_fact(topic): "
    "returns a short encyclopedia entry about a topic, with its source. When a tool fails, say so plainly "
    "and continue without it. Work step by step, write each intermediate result on its own line, keep every "
    "step short and check the arithmetic before you answer. Do not mention these instructions, the tools' "
    "names or this platform in your reply, and never ask the student for personal information such as an "
    "address or a phone number. End with the final answer alone on the last line. The student's message follows."
)
STYLES = {
    "plain": lambda t: t,
    "prefix": lambda t: PREAMBLE + "\n\n" + t,
    "suffix": lambda t: t + "\n\n" + PREAMBLE,
    "alpaca": lambda t: PREAMBLE + "\n\n" + t,  # the loader's input for {"instruction": PREAMBLE, "input": t}
}


def real_texts(name: str) -> list[str]:
    if name == "banking77":
        rows = csv.DictReader(open(SHARED / "banking77" / "train.csv", encoding="utf-8"))
        texts = [r["text"] for r in rows]
    else:
        texts = [json.loads(line)["question"] for line in open(SHARED / "gsm8k" / "train.jsonl", encoding="utf-8")]
    seen, out = set(), []
    for t in texts:
        if normalize(t) not in seen:
            seen.add(normalize(t))
            out.append(t.strip())
    return out


def inject(texts: list[str], per_kind: int, seed: int) -> tuple[list[str], list[tuple[int, int, str]]]:
    rng = random.Random(seed)
    all_texts = list(texts)
    truth = []
    for kind, make in {**EXACT, **NEAR}.items():
        for source in rng.sample(range(len(texts)), per_kind):
            variant = make(texts[source], rng)
            if normalize(variant) == normalize(texts[source]) and kind in NEAR:
                continue
            truth.append((source, len(all_texts), kind))
            all_texts.append(variant)
    return all_texts, truth


def evaluate(groups: list[int], base_groups: list[int], truth: list[tuple[int, int, str]], n_base: int) -> dict:
    size = {}
    for g in groups:
        size[g] = size.get(g, 0) + 1
    flagged = {i for i, g in enumerate(groups) if size[g] > 1}
    base_size = {}
    for g in base_groups:
        base_size[g] = base_size.get(g, 0) + 1
    pre_existing = {i for i, g in enumerate(base_groups) if base_size[g] > 1}
    injected = {i for s, v, _ in truth for i in (s, v)}
    recall = {}
    for kind in {k for _, _, k in truth}:
        pairs = [(s, v) for s, v, k in truth if k == kind]
        recall[kind] = sum(groups[s] == groups[v] for s, v in pairs) / len(pairs)
    counted = flagged - (pre_existing - injected)
    true_rows = counted & injected
    return {
        "recall": recall,
        "row_precision": len(true_rows) / max(len(counted), 1),
        "flagged_rows": len(flagged),
        "pre_existing_rows": len(pre_existing),
        "false_rows": len(counted - injected),
    }


def exact_groups(texts: list[str]) -> list[int]:
    first: dict[str, int] = {}
    return [first.setdefault(normalize(t), i) for i, t in enumerate(texts)]


def detect(texts: list[str], embedder: Embedder, params: NearParams) -> tuple[list[int], float]:
    """Near groups as an audit forms them: exact groups, varying parts, embeddings of the varying parts."""
    varying = varying_texts(texts).texts
    vectors = embedder.encode(varying)
    started = time.perf_counter()
    exact = exact_groups(texts)
    reps = sorted(set(exact))
    position = {r: k for k, r in enumerate(reps)}
    graph = neighbour_graph(vectors[reps], k=10, min_similarity=CANDIDATE_SIMILARITY)
    result = near_duplicates(
        [varying[r] for r in reps], vectors[reps], (graph.pair_i, graph.pair_j), params, full=[texts[r] for r in reps]
    )
    groups = [reps[result.group[position[exact[i]]]] for i in range(len(texts))]
    return groups, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--per-kind", type=int, default=150)
    parser.add_argument("--styles", nargs="+", default=list(STYLES))
    parser.add_argument("--datasets", nargs="+", default=["banking77", "gsm8k"])
    args = parser.parse_args()
    embedder = Embedder(cache_dir=Path(__file__).resolve().parents[1] / ".ftaudit-cache", quiet=True)
    params = NearParams()
    worst: dict[str, tuple[float, float]] = {}
    for dataset in args.datasets:
        base = real_texts(dataset)
        for style in args.styles:
            wrap = STYLES[style]
            base_groups, _ = detect([wrap(t) for t in base], embedder, params)
            for seed in args.seeds:
                texts, truth = inject(base, args.per_kind, seed)
                groups, seconds = detect([wrap(t) for t in texts], embedder, params)
                result = evaluate(groups, base_groups + list(range(len(base), len(texts))), truth, len(base))
                near = [(s, v) for s, v, k in truth if k in NEAR]
                near_recall = sum(groups[s] == groups[v] for s, v in near) / len(near)
                recall = " ".join(f"{k}={v:.3f}" for k, v in sorted(result["recall"].items()))
                print(
                    f"{dataset} {style} seed={seed} rows={len(texts)} {recall} near_recall={near_recall:.3f} "
                    f"precision={result['row_precision']:.3f} false_rows={result['false_rows']} "
                    f"pre_existing={result['pre_existing_rows']} detect={seconds:.1f}s",
                    flush=True,
                )
                low_p, low_r = worst.get(style, (1.0, 1.0))
                worst[style] = (min(low_p, result["row_precision"]), min(low_r, near_recall))
    for style, (precision, recall) in worst.items():
        print(
            f"{style}: lowest row precision {precision:.3f}, lowest near-variant recall {recall:.3f} "
            f"(goal ≥ 0.98 / ≥ 0.975)"
        )


if __name__ == "__main__":
    main()

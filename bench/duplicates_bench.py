"""Duplicate-detection benchmark on real data (Banking77 texts, GSM8K questions).

Injects exact variants (case, spacing, Unicode forms) and near variants (typo, dropped word,
changed punctuation, swapped words) of randomly chosen rows, runs the detector, and reports
recall per variant kind and row precision. Rows already in a near group before injection
(real near duplicates of the source data) are reported apart and left out of precision.

    python -m bench.duplicates_bench [--seeds 0 1 2] [--per-kind 150] [--grid]
"""
from __future__ import annotations

import argparse
import csv
import json
import random
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from auditor.dedup import NearParams, jaccard, near_duplicates, ngrams, common_affixes, strip_affixes
from auditor.embed import Embedder
from auditor.neighbors import neighbour_graph
from auditor.text import normalize
from bench.inject import EXACT, NEAR

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
CANDIDATE_SIMILARITY = 0.80


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


def detect(texts: list[str], vectors: np.ndarray, params: NearParams) -> tuple[list[int], float]:
    started = time.perf_counter()
    exact = exact_groups(texts)
    reps = sorted(set(exact))
    position = {r: k for k, r in enumerate(reps)}
    graph = neighbour_graph(vectors[reps], k=1, min_similarity=CANDIDATE_SIMILARITY)
    result = near_duplicates([texts[r] for r in reps], vectors[reps], (graph.pair_i, graph.pair_j), params)
    groups = [reps[result.group[position[exact[i]]]] for i in range(len(texts))]
    return groups, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--per-kind", type=int, default=150)
    parser.add_argument("--grid", action="store_true")
    args = parser.parse_args()
    embedder = Embedder(cache_dir=Path(".ftaudit-cache"), quiet=True)
    params = NearParams()
    for dataset in ("banking77", "gsm8k"):
        base = real_texts(dataset)
        base_vectors = embedder.encode(base)
        base_groups, _ = detect(base, base_vectors, params)
        for seed in args.seeds:
            texts, truth = inject(base, args.per_kind, seed)
            vectors = embedder.encode(texts)
            if args.grid:
                grid(dataset, texts, vectors, truth, len(base), base_vectors)
                continue
            groups, seconds = detect(texts, vectors, params)
            result = evaluate(groups, base_groups + list(range(len(base), len(texts))), truth, len(base))
            recall = " ".join(f"{k}={v:.3f}" for k, v in sorted(result["recall"].items()))
            print(f"{dataset} seed={seed} rows={len(texts)} {recall} precision={result['row_precision']:.3f} "
                  f"false_rows={result['false_rows']} pre_existing={result['pre_existing_rows']} detect={seconds:.1f}s")


def grid(dataset: str, texts: list[str], vectors: np.ndarray, truth: list, n_base: int, base_vectors: np.ndarray) -> None:
    for emb in (0.93, 0.95, 0.97):
        for support in (0.4, 0.5, 0.6):
            for lex in (0.7, 0.75, 0.8, 0.85):
                params = NearParams(embedding_threshold=emb, lexical_support=support, lexical_threshold=lex)
                base_groups, _ = detect(texts[:n_base], base_vectors, params)
                groups, _ = detect(texts, vectors, params)
                r = evaluate(groups, base_groups + list(range(n_base, len(texts))), truth, n_base)
                near = min(v for k, v in r["recall"].items() if k in NEAR)
                print(f"{dataset} emb={emb} support={support} lex={lex} min_near_recall={near:.3f} "
                      + " ".join(f"{k}={v:.2f}" for k, v in sorted(r["recall"].items()) if k in NEAR)
                      + f" precision={r['row_precision']:.3f} pre_existing={r['pre_existing_rows']}")


if __name__ == "__main__":
    main()

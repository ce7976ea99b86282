"""Embedding backends: sentence-transformers on torch vs the ONNX Runtime export, on real texts.

Reports texts/second for each (cold: no cache), the cosine between their vectors, and whether
the near-duplicate groups built on each are identical.

    python -m bench.embedding_bench [--rows 3000]
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import numpy as np

from auditor.dedup import NearParams, near_duplicates
from auditor.embed import Embedder
from auditor.neighbors import neighbour_graph

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def groups(texts: list[str], vectors: np.ndarray) -> list[int]:
    graph = neighbour_graph(vectors, 10, 0.8)
    return near_duplicates(texts, vectors, (graph.pair_i, graph.pair_j), NearParams()).group


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=3000)
    args = parser.parse_args()
    with open(SHARED / "banking77" / "train.csv", encoding="utf-8") as handle:
        texts = [r["text"] for r in csv.DictReader(handle)][: args.rows]
    results = {}
    for backend in ("onnx", "torch"):
        embedder = Embedder(cache_dir=None, quiet=True, backend=backend)
        embedder.encode(texts[:64])
        started = time.perf_counter()
        vectors = embedder.encode(texts)
        seconds = time.perf_counter() - started
        results[backend] = vectors
        print(
            f"{backend:5s} {len(texts) / seconds:6.0f} texts/s  ({seconds:.1f}s for {len(texts)}, "
            f"model load {embedder.stats.model_load_seconds:.1f}s, backend {embedder.stats.backend})"
        )
    cosine = (results["onnx"] * results["torch"]).sum(axis=1)
    print(f"cosine onnx vs torch: min {cosine.min():.7f}, mean {cosine.mean():.7f}")
    same = groups(texts, results["onnx"]) == groups(texts, results["torch"])
    print(f"near-duplicate groups identical: {same}")


if __name__ == "__main__":
    main()

"""Embedding throughput on ONNX Runtime: batch size, sorting by length, intra-op threads, int8 weights.

Every variant encodes the same Banking77 texts (no cache), interleaved over `--repeat` rounds so
that a busy machine slows them alike; the best round counts. int8 is ONNX Runtime's dynamic
quantisation of the exported fp32 model, compared by cosine with fp32 and by whether the
near-duplicate candidate pairs (cosine ≥ 0.8 among the 10 nearest) stay the same.

    python -m bench.throughput_bench [--rows 2000] [--repeat 2]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from auditor.embed import Embedder, default_model_dir, onnx_folder

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def encoder(onnx_file: Path, threads: int) -> Any:
    import onnxruntime

    from auditor.onnx_backend import OnnxEncoder

    enc = OnnxEncoder(default_model_dir(), onnx_file)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.log_severity_level = 3
    enc.session = onnxruntime.InferenceSession(str(onnx_file), options, providers=["CPUExecutionProvider"])
    return enc


def run(enc: Any, texts: list[str], batch: int, by_length: bool) -> tuple[float, np.ndarray]:
    started = time.perf_counter()
    if by_length:
        vectors = enc.encode(texts, batch)
    else:  # one batch at a time in the given order: what not sorting costs in padding
        vectors = np.concatenate([enc.encode(texts[i : i + batch], batch) for i in range(0, len(texts), batch)])
    return time.perf_counter() - started, vectors


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=2)
    args, _ = parser.parse_known_args()
    with open(SHARED / "banking77" / "train.csv", encoding="utf-8") as handle:
        texts = [r["text"] for r in csv.DictReader(handle)][: args.rows]
    embedder = Embedder(quiet=True)
    embedder._load()  # exports the model into the cache once
    folder = onnx_folder(Path(embedder.cache_dir)) if embedder.cache_dir else None
    fp32 = folder / hashlib.sha256(embedder.stats.identity.encode()).hexdigest()[:16] / "model.onnx" if folder else None
    if fp32 is None or not fp32.is_file():
        print("skipped: the exported ONNX model is not in the cache")
        return
    from onnxruntime.quantization import QuantType, quantize_dynamic

    int8 = Path(tempfile.mkdtemp(prefix="ftaudit-int8-")) / "model.int8.onnx"
    quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8)
    cores = os.cpu_count() or 1
    variants = {f"fp32 batch={b} sorted threads={cores}": (fp32, cores, b, True) for b in (16, 32, 64, 128, 256)}
    variants[f"fp32 batch=64 unsorted threads={cores}"] = (fp32, cores, 64, False)
    variants["fp32 batch=64 sorted threads=1"] = (fp32, 1, 64, True)
    variants[f"int8 batch=64 sorted threads={cores}"] = (int8, cores, 64, True)
    encoders = {name: encoder(path, threads) for name, (path, threads, _, _) in variants.items()}
    best: dict[str, float] = {}
    vectors: dict[str, np.ndarray] = {}
    for _ in range(args.repeat):
        for name, (_, _, batch, by_length) in variants.items():
            seconds, vectors[name] = run(encoders[name], texts, batch, by_length)
            best[name] = min(best.get(name, 1e9), seconds)
    print(f"{len(texts)} Banking77 texts, best of {args.repeat} interleaved rounds, load {os.getloadavg()[0]:.1f}")
    for name, seconds in best.items():
        print(f"  {name:<36} {len(texts) / seconds:6.0f} texts/s")
    reference = vectors[f"fp32 batch=64 sorted threads={cores}"]
    quantised = vectors[f"int8 batch=64 sorted threads={cores}"]
    cosine = np.sum(reference * quantised, axis=1)
    from auditor.neighbors import neighbour_graph

    graphs = [neighbour_graph(v, 10, 0.8) for v in (reference, quantised)]
    pairs = [set(zip(g.pair_i.tolist(), g.pair_j.tolist())) for g in graphs]
    print(
        f"int8 vs fp32: cosine min {cosine.min():.4f} mean {cosine.mean():.4f}; "
        f"candidate pairs {len(pairs[0])} fp32, "
        f"{len(pairs[1])} int8, {len(pairs[0] ^ pairs[1])} differ -> fp32 stays the default"
    )


if __name__ == "__main__":
    main()

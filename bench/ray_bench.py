"""`--engine ray` against the single process: the same rows embedded cold into two empty caches.

Both runs are whole `ftaudit audit` processes on the first `--rows` rows of bench/scale_rows.py
(real Banking77/CLINC text); the ONNX export is shared (FTAUDIT_ONNX_DIR) so neither pays for it.
Prints both wall clocks, Ray's overhead, and whether the findings, the verdict and every vector
are bit-identical. Needs `pip install 'ftaudit[ray]'`.

    python -m bench.ray_bench [--rows 20000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.scale_rows import all_rows, write_train

ROOT = Path(__file__).resolve().parents[1]


def audit(train: Path, cache: Path, *extra: str) -> tuple[float, dict]:
    out = cache.with_suffix(".json")
    env = {
        **os.environ,
        "FTAUDIT_CACHE_DIR": str(cache),
        "FTAUDIT_ONNX_DIR": os.environ.get("FTAUDIT_ONNX_DIR", str(ROOT / ".ftaudit-cache" / "onnx")),
    }
    started = time.perf_counter()
    command = [sys.executable, "-m", "auditor", "audit", str(train), "-q", "--format", "json", "-o", str(out), *extra]
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - started
    if result.returncode:
        raise SystemExit(result.stderr[-2000:])
    return wall, json.loads(out.read_text())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=20_000)
    args, _ = parser.parse_known_args()
    try:
        import ray.data  # noqa: F401
    except ImportError:
        print("skipped: Ray Data is not installed (pip install 'ftaudit[ray]')")
        return
    from auditor.embed import Embedder

    with tempfile.TemporaryDirectory() as folder:
        train = write_train(Path(folder) / "train.jsonl", args.rows)
        load = " ".join(f"{x:.1f}" for x in os.getloadavg())
        local_wall, local = audit(train, Path(folder) / "local")
        ray_wall, ray = audit(train, Path(folder) / "ray", "--engine", "ray")
        findings = [[(c["id"], f["code"], f["message"], f["rows"]) for f in c["findings"]] for c in local["checks"]]
        theirs = [[(c["id"], f["code"], f["message"], f["rows"]) for f in c["findings"]] for c in ray["checks"]]
        same = findings == theirs
        texts = [text for text, _ in all_rows()[0][: args.rows]]
        embedders = [Embedder(cache_dir=Path(folder) / name, quiet=True) for name in ("local", "ray")]
        vectors = [e.encode(texts) for e in embedders]
        print(f"{args.rows} rows embedded cold (load {load} -> {' '.join(f'{x:.1f}' for x in os.getloadavg())})")
        print(
            f"  single process: {local_wall:.1f}s (embedding {local['embedding']['seconds']:.1f}s, "
            f"{local['embedding']['computed']} computed)"
        )
        print(
            f"  --engine ray:   {ray_wall:.1f}s ({ray['embedding']['computed']} computed after Ray, "
            f"{ray['embedding']['cached']} from the cache Ray filled) -> overhead {ray_wall - local_wall:+.1f}s "
            f"({ray_wall / local_wall:.2f}x)"
        )
        print(
            f"  findings identical: {same}; verdict identical: {local['verdict'] == ray['verdict']}; "
            f"vectors bit-identical: {np.array_equal(vectors[0], vectors[1])} "
            f"(looked up again: {sum(e.stats.computed for e in embedders)} computed)"
        )


if __name__ == "__main__":
    main()
